"""Fetching a URL a brief names, only from public addresses (no SSRF into our own network).

The policy is a few pure functions (`refusal`, `AllowList`, `check_url`, `check_address`)
that need no network. `fetch` applies them: it resolves the host name once, refuses the
whole fetch if any address it resolves to is not public, then connects to a checked address
itself (the URL is rewritten to the IP, the original name goes in the Host header and as the
TLS server name, so certificates are still verified for the name). Nothing resolves the name
a second time, so a DNS answer that changes between the check and the connection (DNS
rebinding) changes nothing. Redirects are followed by hand, each hop checked the same way.

Hosts named in the allow-list (`PHOTO_FETCH_ALLOWED_HOSTS`: host names, IP addresses or
CIDR ranges) may be fetched although they are private: an in-house image server, the tests'
local servers.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[IPAddress]]

MAX_REDIRECTS = 3
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
# The whole fetch (every hop and the body) must finish within this many per-operation
# timeouts: a server dribbling a byte a second must not hold a render worker for hours.
TOTAL_TIMEOUT_FACTOR = 3

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
_COMPATIBLE = ipaddress.ip_network("::/96")  # IPv4-compatible IPv6 (deprecated), ::a.b.c.d
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class FetchError(Exception):
    """The URL was not fetched; the message says why, for a person."""


class RefusedAddressError(FetchError):
    """The URL (or a redirect) leads somewhere the policy does not fetch from."""


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, str] | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped, "IPv4-mapped"
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _COMPATIBLE and int(ip) > 1:  # not :: or ::1, which are IPv6's own
        return low32, "IPv4-compatible"
    if any(ip in net for net in _NAT64):
        return low32, "NAT64"
    if ip.sixtofour is not None:
        return ip.sixtofour, "6to4"
    return None


def refusal(ip: IPAddress) -> str | None:
    """Why `ip` is not fetched from ("a loopback address"), or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            inner = refusal(embedded[0])
            if inner is not None:
                return f"an {embedded[1]} IPv6 form of {inner} ({embedded[0]})"
            if embedded[1] == "IPv4-mapped":
                return None  # ::ffff:a.b.c.d is a.b.c.d, and that is public
    if ip.is_unspecified or ip in _THIS_NETWORK:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip in _CGNAT:
        return "a shared (CGNAT) address"
    if ip in _UNIQUE_LOCAL:
        return "a private (unique-local) address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "a site-local address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:
        return "a non-public address"
    return None


@dataclass(frozen=True)
class AllowList:
    """Trusted hosts fetched even when private: names (exact, any case) and CIDR ranges."""

    names: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """`["images.internal", "10.1.2.0/24", "127.0.0.1"]`; a bad range is a ValueError."""
        names: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                if "/" in entry or ":" in entry:
                    raise ValueError(f"not a host name, address or CIDR range: {raw!r}") from None
                names.add(entry)
        return cls(frozenset(names), tuple(networks))

    def permits(self, host: str, ip: IPAddress) -> bool:
        if host.lower().rstrip(".") in self.names:
            return True
        return any(ip.version == net.version and ip in net for net in self.networks)


@dataclass(frozen=True)
class Target:
    """One hop: the URL as given, and the checked addresses to connect to instead of its name."""

    url: httpx.URL
    host: str  # ASCII (IDNA) form, what was resolved and is sent as SNI
    port: int
    addresses: tuple[IPAddress, ...] = field(default=())


def check_url(url: str | httpx.URL, what: str = "photo_url") -> httpx.URL:
    """Only http(s) URLs with a host and no credentials; RefusedAddressError otherwise."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise RefusedAddressError(f"{what} is not a valid URL: {exc}") from exc
    if parsed.scheme not in ("http", "https"):
        raise RefusedAddressError(
            f"{what} must be an http or https URL, not {parsed.scheme or 'a relative'} one"
        )
    if not parsed.raw_host:
        raise RefusedAddressError(f"{what} has no host name")
    if parsed.userinfo:
        raise RefusedAddressError(f"{what} must not carry a user name or password")
    return parsed


def check_address(host: str, ip: IPAddress, allowed: AllowList, what: str = "photo_url") -> None:
    """RefusedAddressError unless `ip` is public or `host`/`ip` is on the allow-list."""
    reason = refusal(ip)
    if reason is None or allowed.permits(host, ip):
        return
    raise RefusedAddressError(
        f"{what} resolves to {reason} ({ip}); only public addresses are fetched "
        "(an operator can trust a host with PHOTO_FETCH_ALLOWED_HOSTS)"
    )


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the name resolves to, in the resolver's order, without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    found: list[IPAddress] = []
    for *_, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in found:
            found.append(ip)
    return found


def target(
    url: httpx.URL, allowed: AllowList, resolver: Resolver, what: str = "photo_url"
) -> Target:
    """Resolve the URL's host once and check every address; the checked addresses to use."""
    host = url.raw_host.decode("ascii").lower()
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        addresses = resolver(host.strip("[]"), port)
    except (OSError, UnicodeError) as exc:
        raise FetchError(f"{what} host {host} could not be resolved: {exc}") from exc
    if not addresses:
        raise FetchError(f"{what} host {host} resolves to no address")
    for ip in addresses:  # one bad address refuses the name: we never pick around it
        check_address(host, ip, allowed, what)
    return Target(url, host, port, tuple(addresses))


def pinned_request(client: httpx.Client, hop: Target, ip: IPAddress) -> httpx.Request:
    """A GET to `ip` itself, with the original Host header and TLS server name (SNI)."""
    extensions: dict[str, str] = {}
    try:
        ipaddress.ip_address(hop.host.strip("[]"))
    except ValueError:  # a name, not an address literal: verify the certificate for it
        extensions["sni_hostname"] = hop.host
    return client.build_request(
        "GET",
        hop.url.copy_with(host=str(ip)),
        headers={"Host": hop.url.netloc.decode("ascii")},
        extensions=extensions,
    )


def _send(client: httpx.Client, hop: Target) -> httpx.Response:
    """Connect to the checked addresses in order until one answers."""
    error: httpx.TransportError | None = None
    for ip in hop.addresses:
        try:
            return client.send(pinned_request(client, hop, ip), stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            error = exc
    raise FetchError(f"{hop.url} could not be fetched: {error}")


def _read(response: httpx.Response, url: httpx.URL, max_bytes: int, deadline: float) -> bytes:
    """Stream the body, stopping as soon as it is over the limit or out of time."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"{url} is over the limit of {max_bytes} bytes")
    data = bytearray()
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) > max_bytes:
            raise FetchError(f"{url} is over the limit of {max_bytes} bytes")
        if time.monotonic() > deadline:
            raise FetchError(f"{url} took too long to download")
    return bytes(data)


def fetch(
    url: str,
    *,
    max_bytes: int,
    timeout_s: float,
    allowed: AllowList | None = None,
    max_redirects: int = MAX_REDIRECTS,
    resolver: Resolver | None = None,
    verify: ssl.SSLContext | bool = True,
    what: str = "photo_url",
) -> bytes:
    """GET a public http(s) URL's body, or FetchError (RefusedAddressError for the policy)."""
    allowed = allowed or AllowList()
    resolve_host = resolver or resolve
    deadline = time.monotonic() + timeout_s * TOTAL_TIMEOUT_FACTOR
    current = check_url(url, what)
    label = what
    # trust_env=False: no proxy from the environment, which would connect on our behalf.
    with httpx.Client(timeout=timeout_s, verify=verify, trust_env=False) as client:
        for hops in range(max_redirects + 1):
            if time.monotonic() > deadline:
                raise FetchError(f"{url} took too long to download")
            hop = target(current, allowed, resolve_host, label)
            try:
                response = _send(client, hop)
                try:
                    location = response.headers.get("location")
                    if response.status_code in REDIRECT_CODES and location:
                        if hops == max_redirects:
                            raise FetchError(f"{url} redirects more than {max_redirects} times")
                        current = check_url(current.join(location), f"{what}'s redirect")
                        label = f"{what}'s redirect to {current}"
                        continue
                    if response.status_code != 200:
                        raise FetchError(f"{hop.url} answered HTTP {response.status_code}")
                    return _read(response, hop.url, max_bytes, deadline)
                finally:
                    response.close()
            except httpx.HTTPError as exc:
                raise FetchError(f"{hop.url} could not be fetched: {exc}") from exc
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
