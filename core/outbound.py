"""Which URLs Quorum itself may call (webhooks, training triggers, S3 endpoints): an allow-list against SSRF.

A manager types these URLs, and the server calls them. Without a check, a manager could make Quorum reach
addresses only the server can see (the cloud metadata service at 169.254.169.254, an admin port on
localhost, a database in the private network). So a URL is allowed only when:

* its scheme is http or https;
* every address its host resolves to is public (not loopback, private, link-local, multicast, reserved),
  **or** the host or one of its addresses is named in ``QUORUM_OUTBOUND_ALLOW`` (comma-separated host
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
        return any(address in network for network in self.networks)


def allow_list() -> AllowList:
    """The allow-list from the environment, read on each call so tests and operators can change it."""
    return AllowList.parse(os.environ.get(ALLOW_ENV, ""))


def _system_resolver(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise OutboundURLError(f"cannot resolve host {host!r}: {exc.strerror}") from exc
    return sorted({str(info[4][0]) for info in infos})


def is_public(address: IpAddress) -> bool:
    """True for addresses on the public internet; False for every kind of internal or special address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
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
                raise OutboundURLError(
                    f"{purpose} URL {text!r} points to the internal address {address}; Quorum calls only public "
                    f"addresses unless an administrator lists the host in {ALLOW_ENV}"
                )
    return AllowedURL(url=text, host=host, port=port, addresses=tuple(addresses))
