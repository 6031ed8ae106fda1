"""Which URLs Quorum itself may call (webhooks, training triggers, S3 endpoints): an allow-list against SSRF.

A manager types these URLs, and the server calls them. Without a check, a manager could make Quorum reach
addresses only the server can see (the cloud metadata service at 169.254.169.254, an admin port on
localhost, a database in the private network). So a URL is allowed only when:

* its scheme is http or https;
* every address its host resolves to is public (not loopback, private, link-local, multicast, reserved;
  an IPv6 address carrying an IPv4 one, as NAT64, 6to4, IPv4-mapped or -compatible addresses do, is judged
  by the IPv4 address it carries), **or** the host or one of its addresses is named in ``QUORUM_OUTBOUND_ALLOW`` (comma-separated host
  names, ``*.suffix`` wildcards, IP addresses or CIDR networks: ``minio.internal,10.0.0.0/8,127.0.0.1``).

The check resolves the host once and returns the addresses it approved. Callers that open connections
themselves should connect to those addresses (or call again right before connecting), so a DNS answer
that changes between check and use (DNS rebinding) does not slip past it.
"""
from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from core.errors import QuorumError

ALLOW_ENV = "QUORUM_OUTBOUND_ALLOW"

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], list[str]]


class OutboundURLError(QuorumError):
    """A URL Quorum was asked to call is malformed or points where the server must not go."""


@dataclass(frozen=True)
class AllowedURL:
    url: str
    host: str
    port: int
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class AllowList:
    hosts: frozenset[str]
    suffixes: tuple[str, ...]
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    @classmethod
    def parse(cls, text: str) -> AllowList:
        hosts: set[str] = set()
        suffixes: list[str] = []
        networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for raw in text.split(","):
            entry = raw.strip().lower()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            if entry.startswith("*."):
                suffixes.append(entry[1:])  # ".example.com"
            else:
                hosts.add(entry)
        return cls(frozenset(hosts), tuple(suffixes), tuple(networks))

    def names(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return host in self.hosts or any(host.endswith(suffix) for suffix in self.suffixes)

    def covers(self, address: IpAddress) -> bool:
        """True when a listed network holds the address, or the IPv4 address it carries (allowing 10.0.0.0/8
        also allows ``::ffff:10.1.2.3``, which reaches the same host)."""
        carried = embedded_ipv4(address)
        return any(address in network or (carried is not None and carried in network) for network in self.networks)


def allow_list() -> AllowList:
    """The allow-list from the environment, read on each call so tests and operators can change it."""
    return AllowList.parse(os.environ.get(ALLOW_ENV, ""))


def _system_resolver(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise OutboundURLError(f"cannot resolve host {host!r}: {exc.strerror}") from exc
    return sorted({str(info[4][0]) for info in infos})


NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
"""RFC 6052's well-known NAT64 prefix: a gateway turns 64:ff9b::a.b.c.d into a connection to a.b.c.d."""
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
"""Deprecated IPv4-compatible addresses (::a.b.c.d); some stacks still route them to a.b.c.d."""
NOT_PUBLIC_V6 = (
    ipaddress.IPv6Network("64:ff9b:1::/48"),  # RFC 8215 local-use NAT64: the IPv4 part may sit anywhere
    ipaddress.IPv6Network("3fff::/20"),  # RFC 9637 documentation
    ipaddress.IPv6Network("5f00::/16"),  # RFC 9602 SRv6 segment identifiers
)
"""Special IPv6 ranges that older Pythons' ``is_global`` does not know yet."""


def embedded_ipv4(address: IpAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries and is delivered to, or None.

    IPv4-mapped (``::ffff:a.b.c.d``), IPv4-compatible (``::a.b.c.d``), NAT64 (``64:ff9b::a.b.c.d``) and 6to4
    (``2002:AABB:CCDD::``) addresses all reach an IPv4 host; judging them by their IPv6 form alone would let
    ``64:ff9b::7f00:1`` through to 127.0.0.1 (Python calls it global).
    """
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64 or address in IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IpAddress) -> bool:
    """True for addresses on the public internet; False for every kind of internal or special address.

    An IPv6 address that carries an IPv4 address (see :func:`embedded_ipv4`) is judged by that IPv4 address.
    """
    carried = embedded_ipv4(address)
    if carried is not None:
        return is_public(carried)
    if isinstance(address, ipaddress.IPv6Address) and any(address in net for net in NOT_PUBLIC_V6):
        return False
    return address.is_global and not address.is_multicast


def check_outbound_url(url: str, *, purpose: str, resolver: Resolver | None = None) -> AllowedURL:
    """The URL with the addresses it may be reached at; OutboundURLError (naming ``purpose``) if not allowed.

    ``purpose`` says what the URL is for ("webhook", "S3 endpoint") so the message tells the manager
    which field to fix.
    """
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise OutboundURLError(f"{purpose} URL {text!r} is malformed: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise OutboundURLError(f"{purpose} URL {text!r} must start with http:// or https://")
    host = (parts.hostname or "").lower()
    if not host:
        raise OutboundURLError(f"{purpose} URL {text!r} has no host")
    if parts.username or parts.password:
        raise OutboundURLError(f"{purpose} URL must not carry a user name or password; use the secret field")
    port = port or (443 if parts.scheme == "https" else 80)
    rules = allow_list()
    try:
        literal: IpAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    addresses = [str(literal)] if literal is not None else (resolver or _system_resolver)(host)
    if not addresses:
        raise OutboundURLError(f"cannot resolve host {host!r} of the {purpose} URL")
    if not rules.names(host):
        for address in addresses:
            ip = ipaddress.ip_address(address)
            if not (is_public(ip) or rules.covers(ip)):
                carried = embedded_ipv4(ip)
                shown = f"{address} (which carries {carried})" if carried is not None else address
                raise OutboundURLError(
                    f"{purpose} URL {text!r} points to the internal address {shown}; Quorum calls only public "
                    f"addresses unless an administrator lists the host in {ALLOW_ENV}"
                )
    return AllowedURL(url=text, host=host, port=port, addresses=tuple(addresses))
