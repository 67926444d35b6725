"""Where a webhook may go: https (http only where allowed) to public addresses only.

A subscription URL is chosen by whoever holds `webhooks:admin`, and the worker that sends
to it sits inside the service's network; without these checks it could be pointed at the
database, the cloud metadata endpoint or an internal admin page. A DNS name is refused when
ANY of its addresses is not public, and the check runs again before every attempt, since a
name can change what it resolves to (DNS rebinding). The sender then connects to the very
address that was checked (`Target.pinned_url`) rather than resolving a second time.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from app.core.errors import Unprocessable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

URL_MAX = 2048
DEFAULT_PORTS = {"http": 80, "https": 443}

# Shared address space (RFC 6598): carrier-grade NAT, not the public internet.
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")


class UrlNotAllowed(Unprocessable):
    kind, title = "webhook-url-not-allowed", "The webhook URL is not allowed"


@dataclass(frozen=True)
class Target:
    """A checked URL and the addresses its host resolved to, all of them allowed."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[IPAddress, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if DEFAULT_PORTS[self.scheme] == self.port else f"{host}:{self.port}"

    @property
    def pinned_url(self) -> str:
        """The URL with its host replaced by the first checked address."""
        parts = urlsplit(self.url)
        address = self.addresses[0]
        host = f"[{address}]" if address.version == 6 else str(address)
        return parts._replace(netloc=f"{host}:{self.port}").geturl()


def syntax_problem(url: str) -> str | None:
    """Why `url` is not a usable absolute http(s) URL, or None."""
    if len(url) > URL_MAX:
        return f"at most {URL_MAX} characters"
    if any(ord(ch) <= 32 or ord(ch) == 127 for ch in url):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a port out of 0..65535
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if port == 0:
        # No connection goes to port 0; taken as "no port", it meant the default one.
        return "must not use port 0"
    if parts.scheme not in DEFAULT_PORTS:
        return "must be an https:// URL"
    if not parts.hostname:
        return "must name a host"
    if parts.username is not None or parts.password is not None:
        return "must not carry credentials; the signature authenticates the sender"
    if parts.fragment:
        return "must not have a #fragment"
    return None


def address_problem(address: IPAddress) -> str | None:
    """Why an address is not a public one a webhook may reach, or None."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return address_problem(embedded)
    if address.is_unspecified or (address.version == 4 and address in _THIS_NETWORK):
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.version == 4 and address in _CGNAT:
        return "carrier-grade NAT"
    if address.is_multicast:
        return "multicast"
    if address.is_private:
        return "private"
    if address.is_reserved or not address.is_global:
        return "reserved"
    return None


def resolve(host: str, port: int) -> tuple[IPAddress, ...]:
    """Every address `host` resolves to (an IP literal resolves to itself)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IPAddress] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        # Drop an IPv6 zone ("fe80::1%eth0"): the address itself decides.
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return tuple(found)


def check_url(
    url: str,
    *,
    allow_http: bool,
    allow_private: bool,
    refusal: type[UrlNotAllowed] = UrlNotAllowed,
    field: str = "url",
) -> Target:
    """Resolve and check a URL the worker will POST to; raise `refusal` (422, a webhook's
    UrlNotAllowed unless told) with the reason."""

    def refused(detail: str, reason: str) -> UrlNotAllowed:
        return refusal(detail, reason=reason, field=field)

    problem = syntax_problem(url)
    if problem is not None:
        raise refused(f"The URL {problem}", reason="invalid")
    parts: SplitResult = urlsplit(url)
    scheme = parts.scheme
    if scheme == "http" and not allow_http:
        raise refused("The URL must use https", reason="scheme")
    host = parts.hostname or ""
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError as exc:
        raise refused("The host name is not valid", reason="invalid") from exc
    port = parts.port or DEFAULT_PORTS[scheme]
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError, ValueError) as exc:
        raise refused(f"The host {host} does not resolve", reason="unresolvable") from exc
    if not addresses:
        raise refused(f"The host {host} does not resolve", reason="unresolvable")
    if not allow_private:
        for address in addresses:
            why = address_problem(address)
            if why is not None:
                raise refused(
                    f"The host {host} resolves to {address}, a {why} address; only public "
                    "addresses are reached",
                    reason="address",
                )
    return Target(url=url, scheme=scheme, host=host, port=port, addresses=addresses)
