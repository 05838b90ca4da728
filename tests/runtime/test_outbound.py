"""The one outbound HTTP client: SSRF guard, redirects checked per hop, time and size caps."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from runtime.outbound import AllowList, ForbiddenAddress, OutboundError, checked_address, request

LOOPBACK = AllowList.parse(["127.0.0.1"])


def answering(*answers: str) -> Callable[[str, int], object]:
    async def resolve(host: str, port: int) -> list[str]:
        return list(answers)

    return resolve


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "[::1]",
        "0.0.0.0",
        "169.254.169.254",
        "10.0.0.1",
        "172.16.0.1",
        "192.168.0.1",
        "100.64.0.1",
        "[fc00::1]",
        "[fe80::1]",
        "[::ffff:127.0.0.1]",
        "224.0.0.1",
        "240.0.0.1",
    ],
)
async def test_private_loopback_metadata_and_reserved_addresses_are_refused(host: str) -> None:
    with pytest.raises(ForbiddenAddress) as error:
        await checked_address(host, 80, AllowList(), answering())
    assert error.value.code == "NO_PERMISSIONS" and not error.value.retriable


@pytest.mark.parametrize("host", ["2130706433", "0x7f000001", "0177.0.0.1", "localhost"])
async def test_numeric_tricks_and_names_resolving_to_loopback_are_refused(host: str) -> None:
    with pytest.raises(ForbiddenAddress):
        await request(f"http://{host}/", timeout=2)


async def test_a_name_with_any_private_answer_is_refused_against_rebinding() -> None:
    with pytest.raises(ForbiddenAddress, match="10.1.2.3"):
        await checked_address(
            "rebind.example", 80, AllowList(), answering("93.184.216.34", "10.1.2.3")
        )


async def test_public_addresses_pass_and_allow_listed_hosts_or_networks_pass() -> None:
    assert await checked_address("example.com", 443, AllowList(), answering("93.184.216.34")) == (
        "93.184.216.34"
    )
    allow = AllowList.parse(["intranet.local", "10.0.0.0/8"])
    assert await checked_address("intranet.local", 80, allow, answering("192.168.1.1"))
    assert await checked_address("other", 80, allow, answering("10.9.9.9")) == "10.9.9.9"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://example.com/", "ftp://x/"])
async def test_only_http_and_https_urls_are_allowed(url: str) -> None:
    with pytest.raises(OutboundError, match="only http and https"):
        await request(url)


@asynccontextmanager
async def server(handler: Callable[[bytes], bytes]) -> AsyncIterator[tuple[int, list[bytes]]]:
    seen: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            ),
            0,
        )
        body = await reader.readexactly(length) if length else b""
        seen.append(head + body)
        writer.write(handler(head + body))
        await writer.drain()
        writer.close()

    listener = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        yield port, seen
    finally:
        listener.close()
        await listener.wait_closed()


async def test_a_post_to_an_allow_listed_endpoint_delivers_the_body_and_reads_the_answer() -> None:
    answer = b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
    async with server(lambda request: answer) as (port, seen):
        response = await request(
            f"http://127.0.0.1:{port}/hook",
            body=b'{"a":1}',
            headers={"X-Test": "1"},
            allow=LOOPBACK,
        )
    assert response.status == 201 and response.body == b"ok"
    assert seen[0].startswith(b"POST /hook HTTP/1.1") and seen[0].endswith(b'{"a":1}')


async def test_a_loopback_canary_receives_no_connection_when_not_allow_listed() -> None:
    async with server(lambda request: b"HTTP/1.1 200 OK\r\n\r\n") as (port, seen):
        with pytest.raises(ForbiddenAddress):
            await request(f"http://127.0.0.1:{port}/")
    assert seen == []


async def test_every_redirect_hop_is_checked_again() -> None:
    redirect = b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/latest/meta-data\r\n\r\n"
    async with server(lambda request: redirect) as (port, _):
        with pytest.raises(ForbiddenAddress, match="169.254.169.254"):
            await request(f"http://127.0.0.1:{port}/", allow=LOOPBACK)


async def test_responses_are_capped_at_the_size_limit() -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000
    async with server(lambda request: answer) as (port, _):
        response = await request(
            f"http://127.0.0.1:{port}/", allow=LOOPBACK, max_response_bytes=100
        )
    assert len(response.body) == 100 and response.truncated


async def test_a_silent_endpoint_times_out_with_a_retriable_error() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    listener = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    with pytest.raises(OutboundError) as error:
        await request(f"http://127.0.0.1:{port}/", allow=LOOPBACK, timeout=0.05)
    listener.close()
    assert error.value.code == "TIMEOUT" and error.value.retriable
