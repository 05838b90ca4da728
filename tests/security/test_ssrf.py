"""S3: the outbound client's SSRF guard refuses every internal address form before connecting.

A canary HTTP listener on 127.0.0.1 counts connections. Every connection the client opens goes
through a recording opener: loopback attempts reach the canary for real, and any other address is
diverted to the canary too, so a guard failure shows as a hit and no packet leaves the machine.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from runtime import netguard, outbound


class Canary:
    """A tiny HTTP server counting accepted connections; ``redirect`` makes it answer 302."""

    def __init__(self, redirect: str = "") -> None:
        self.hits = 0
        self.redirect = redirect
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while self.running:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                continue
            self.hits += 1
            with connection:
                connection.settimeout(1)
                try:
                    connection.recv(65536)
                    status = "302 Found" if self.redirect else "200 OK"
                    location = f"Location: {self.redirect}\r\n" if self.redirect else ""
                    connection.sendall(
                        f"HTTP/1.1 {status}\r\n{location}Content-Length: 2\r\n\r\nok".encode()
                    )
                except OSError:
                    pass

    def close(self) -> None:
        self.running = False
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def canary() -> Iterator[Canary]:
    listener = Canary()
    yield listener
    listener.close()


@pytest.fixture
def attempts(monkeypatch: pytest.MonkeyPatch, canary: Canary) -> list[tuple[str, int]]:
    """Every (address, port) the client tries to open; non-loopback tries land on the canary."""
    seen: list[tuple[str, int]] = []
    real_open = asyncio.open_connection

    async def opener(host: str, port: int, **kwargs: Any) -> Any:
        seen.append((host, port))
        if not ipaddress.ip_address(host.split("%")[0]).is_loopback:
            host, port = "127.0.0.1", canary.port
        kwargs.pop("server_hostname", None)
        return await real_open(host, port, **{**kwargs, "ssl": None})

    monkeypatch.setattr(outbound.asyncio, "open_connection", opener)
    return seen


def forms(port: int) -> list[str]:
    """At least 20 ways to name an internal address in a URL."""
    return [
        f"http://127.0.0.1:{port}/",
        f"http://127.0.0.2:{port}/",
        f"http://localhost:{port}/",
        f"http://[::1]:{port}/",
        f"http://0.0.0.0:{port}/",
        f"http://[::]:{port}/",
        f"http://[::ffff:127.0.0.1]:{port}/",
        f"http://2130706433:{port}/",
        f"http://0177.0.0.1:{port}/",
        f"http://0x7f.1:{port}/",
        f"http://0x7f000001:{port}/",
        f"http://127.1:{port}/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://10.0.0.1/",
        "http://172.16.0.1/",
        "http://192.168.0.1/",
        "http://100.64.0.1/",
        "http://198.18.0.1/",
        "http://[fc00::1]/",
        "http://[fe80::1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://[64:ff9b::7f00:1]/",
        "http://224.0.0.1/",
        f"http://[::ffff:7f00:1]:{port}/",
        "http://[2002:7f00:1::]/",
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",
    ]


def run(url: str, **kwargs: Any) -> Any:
    return asyncio.run(outbound.request(url, timeout=3, **kwargs))


def test_every_internal_address_form_is_refused_with_zero_canary_hits(
    canary: Canary, attempts: list[tuple[str, int]]
) -> None:
    urls = forms(canary.port)
    assert len(urls) >= 20
    allowed = []
    for url in urls:
        try:
            run(url)
            allowed.append(url)
        except outbound.ForbiddenAddress:
            continue
    assert allowed == []
    assert attempts == [] and canary.hits == 0


@pytest.mark.parametrize(
    "answers",
    [["10.0.0.5"], ["127.0.0.1"], ["169.254.169.254"], ["93.184.216.34", "192.168.1.1"], ["::1"]],
)
def test_a_name_resolving_to_an_internal_address_is_refused(
    answers: list[str], canary: Canary, attempts: list[tuple[str, int]]
) -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return answers

    with pytest.raises(outbound.ForbiddenAddress):
        run(f"http://internal.example:{canary.port}/", resolve=resolver)
    assert attempts == [] and canary.hits == 0


@pytest.mark.parametrize(
    "target", ["http://127.0.0.1:{port}/", "http://169.254.169.254/", "http://[::1]:{port}/"]
)
def test_a_redirect_to_an_internal_address_is_refused(
    target: str, canary: Canary, attempts: list[tuple[str, int]]
) -> None:
    redirector = Canary(redirect=target.format(port=canary.port))
    try:

        async def resolver(host: str, port: int) -> list[str]:
            return ["127.0.0.1"]

        allow = outbound.AllowList.parse(["redirector.test"])
        with pytest.raises(outbound.ForbiddenAddress):
            run(f"http://redirector.test:{redirector.port}/", resolve=resolver, allow=allow)
        assert redirector.hits == 1
    finally:
        redirector.close()
    assert canary.hits == 0


def test_the_name_is_resolved_once_and_the_checked_address_is_the_one_connected(
    canary: Canary, attempts: list[tuple[str, int]]
) -> None:
    calls: list[str] = []

    async def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["93.184.216.34"] if len(calls) == 1 else ["127.0.0.1"]

    response = run("http://rebind.example/", resolve=rebinding)
    assert response.status == 200
    assert calls == ["rebind.example"] and attempts == [("93.184.216.34", 80)]


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "gopher://127.0.0.1:70/", "ftp://127.0.0.1/", "http:///x"]
)
def test_other_schemes_are_refused(url: str, attempts: list[tuple[str, int]]) -> None:
    with pytest.raises(outbound.OutboundError):
        run(url)
    assert attempts == []


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "2130706433",
        "0177.0.0.1",
        "0x7f.1",
        "127.1",
        "0x7f000001",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "[2002:7f00:1::]",
        "[64:ff9b::7f00:1]",
        "0.0.0.0",
        "[::]",
        "169.254.169.254",
        "[fd00:ec2::254]",
        "10.1.2.3",
        "[fe80::1%eth0]",
        "[2001:0:4136:e378:8000:63bf:80ff:fffe]",
    ],
)
def test_netguard_classifies_every_literal_form_as_internal(host: str) -> None:
    address = netguard.literal_address(host)
    assert address is not None and netguard.problem(address) is not None


@pytest.mark.parametrize("host", ["93.184.216.34", "[2606:4700::1111]", "1.1.1.1"])
def test_netguard_lets_public_addresses_through(host: str) -> None:
    address = netguard.literal_address(host)
    assert address is not None and netguard.problem(address) is None
