"""The one outbound HTTP client, behind an SSRF guard.

Every request resolves its host once, refuses it when any resolved address is loopback, private,
link-local (cloud metadata), multicast, reserved or otherwise not globally routable unless the
host or address is allow-listed, then connects to the checked address itself (so a second DNS
answer cannot swap it), re-checks every redirect hop, and caps time and response size.
Plain asyncio streams and the standard library: no extra dependency, nothing evaluated.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from runtime import netguard

MAX_HEADER_BYTES = 65536
REDIRECTS = frozenset({301, 302, 303, 307, 308})

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]


class OutboundError(Exception):
    """A request that failed or was refused; ``code`` follows EventBridge's DLQ vocabulary."""

    def __init__(self, code: str, message: str, *, retriable: bool) -> None:
        self.code = code
        self.message = message
        self.retriable = retriable
        super().__init__(f"{code}: {message}")


class ForbiddenAddress(OutboundError):
    def __init__(self, message: str) -> None:
        super().__init__("NO_PERMISSIONS", message, retriable=False)


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    url: str
    truncated: bool = False


@dataclass(frozen=True)
class AllowList:
    """Hosts and networks a request may reach even though they are not public."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(default=())

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        hosts: set[str] = set()
        networks = []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def permits(self, host: str, address: Address) -> bool:
        if host.lower().rstrip(".") in self.hosts:
            return True
        return any(address in network for network in self.networks)


def address_problem(address: Address) -> str | None:
    """Why an address may not be reached from the runtime, or None for a public address.

    runtime.netguard classifies, looking inside IPv6 forms that embed an IPv4 address."""
    return netguard.problem(address)


async def system_resolve(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise OutboundError(
            "NO_RESOURCE", f"cannot resolve {host}: {error}", retriable=True
        ) from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def checked_address(host: str, port: int, allow: AllowList, resolve: Resolver) -> str:
    """Resolve once and return an address to connect to; refuse if any answer is forbidden."""
    literal = netguard.literal_address(host)
    addresses = [str(literal)] if literal is not None else await resolve(host, port)
    if not addresses:
        raise OutboundError("NO_RESOURCE", f"{host} has no address", retriable=True) from None
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        problem = address_problem(address)
        if problem and not allow.permits(host, address):
            raise ForbiddenAddress(
                f"refused to connect to {host} ({address}): {problem} addresses are blocked; "
                "allow-list the host in the runtime settings to permit it"
            )
    return addresses[0]


async def request(
    url: str,
    *,
    method: str = "POST",
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
    max_response_bytes: int = 65536,
    allow: AllowList | None = None,
    max_redirects: int = 3,
    resolve: Resolver = system_resolve,
) -> Response:
    """Send one HTTP request through the guard, following redirects hop by hop."""
    allow = allow or AllowList()
    try:
        async with asyncio.timeout(timeout):
            for _ in range(max_redirects + 1):
                response = await _one_request(
                    url, method, body, headers or {}, max_response_bytes, allow, resolve
                )
                location = response.headers.get("location")
                if response.status not in REDIRECTS or not location:
                    return response
                url = urljoin(url, location)
                if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                    method, body = "GET", b""
    except TimeoutError:
        raise OutboundError(
            "TIMEOUT", f"no response within {timeout:g} s", retriable=True
        ) from None
    raise OutboundError("SDK_CLIENT_ERROR", f"more than {max_redirects} redirects", retriable=False)


async def _one_request(
    url: str,
    method: str,
    body: bytes,
    headers: Mapping[str, str],
    limit: int,
    allow: AllowList,
    resolve: Resolver,
) -> Response:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundError(
            "SDK_CLIENT_ERROR", f"only http and https URLs are allowed: {url}", retriable=False
        )
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = await checked_address(host, port, allow, resolve)
    context = ssl.create_default_context() if parts.scheme == "https" else None
    try:
        reader, writer = await asyncio.open_connection(
            address, port, ssl=context, server_hostname=host if context else None
        )
    except OSError as error:
        raise OutboundError(
            "NO_RESOURCE", f"cannot connect to {host}: {error}", retriable=True
        ) from None
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        writer.write(_request_head(method, target, parts.netloc, headers, len(body)) + body)
        await writer.drain()
        return await _read_response(reader, url, limit)
    finally:
        writer.close()


def _request_head(
    method: str, target: str, netloc: str, headers: Mapping[str, str], length: int
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {netloc}", "Connection: close"]
    lines.append(f"Content-Length: {length}")
    for name, value in headers.items():
        if "\r" in value or "\n" in name or "\r" in name or "\n" in value:
            continue
        lines.append(f"{name}: {value}")
    lines.append("User-Agent: Flowyard")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")


async def _read_response(reader: asyncio.StreamReader, url: str, limit: int) -> Response:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as error:
        raise OutboundError(
            "SDK_CLIENT_ERROR", f"bad response head: {error}", retriable=True
        ) from None
    if len(head) > MAX_HEADER_BYTES:
        raise OutboundError(
            "SDK_CLIENT_ERROR", "response headers too large", retriable=True
        ) from None
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split(" ", 2)[1])
    except (IndexError, ValueError):
        raise OutboundError(
            "SDK_CLIENT_ERROR", f"bad status line {lines[0]!r}", retriable=True
        ) from None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body, truncated = await _read_body(reader, headers, limit)
    return Response(status, headers, body, url, truncated)


async def _read_body(
    reader: asyncio.StreamReader, headers: Mapping[str, str], limit: int
) -> tuple[bytes, bool]:
    # Reads at most limit + 1 bytes: the rest is never pulled off the socket.
    if headers.get("transfer-encoding", "").lower() == "chunked":
        data = bytearray()
        while len(data) <= limit:
            size_line = await reader.readline()
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                break
            data += await reader.readexactly(size)
            await reader.readline()
        return bytes(data[:limit]), len(data) > limit
    length = headers.get("content-length")
    wanted = min(int(length), limit + 1) if length and length.isdigit() else limit + 1
    data = await reader.read(wanted) if wanted else b""
    while len(data) < wanted:
        more = await reader.read(wanted - len(data))
        if not more:
            break
        data += more
    return data[:limit], len(data) > limit
