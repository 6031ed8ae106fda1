"""POST a body to a URL the allow-list approves, connected to the address it approved, no redirects.

Used by webhook deliveries (core.webhooks). Three choices against server-side request forgery:

* the URL is checked by :func:`core.outbound.check_outbound_url` right before sending, not only when a
  manager saved it, and the connection goes to the address that check approved (a DNS answer that
  changes in between, "DNS rebinding", cannot redirect the request to an internal address). For https
  the certificate is still verified against the URL's host name;
* redirects are never followed (http.client does not follow them): a 3xx answer is reported as such;
* no proxy from the environment is used (http.client ignores ``HTTP_PROXY``), so the check applies to
  the address actually reached.

The standard library only: no new dependency for one POST.

:func:`pinned_connection_class` applies the same pinning to urllib3 connections (botocore's, for S3
endpoints: core.cloud_storage), so a client that opens its own connections reaches only the checked addresses.
"""
from __future__ import annotations

import http.client
import socket
import ssl
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from core.outbound import OutboundURLError, check_outbound_url

DEFAULT_TIMEOUT_S = 5.0
MAX_ERROR_BODY = 300  # characters of the receiver's answer kept in the delivery log


@dataclass(frozen=True)
class SendResult:
    """What one attempt got: an HTTP status, or an error before any status (network, timeout, refused)."""

    status_code: int | None
    error: str | None = None
    refused: bool = False  # the allow-list refused the URL: retrying cannot help
    location: str | None = None  # a redirect's target, reported (never followed)


def _pinned(connection: http.client.HTTPConnection, address: str) -> None:
    """Make ``connection`` open its socket to ``address`` while keeping the host name for Host and TLS."""

    def create_connection(target: tuple[str, int], timeout: float, source: tuple[str, int] | None = None) -> socket.socket:
        return socket.create_connection((address, target[1]), timeout, source)

    connection._create_connection = create_connection  # type: ignore[attr-defined]


def post(url: str, body: bytes, headers: dict[str, str], *, timeout_s: float = DEFAULT_TIMEOUT_S, purpose: str = "webhook") -> SendResult:
    """POST ``body`` to ``url``; never raises for network trouble (it is returned as ``error``)."""
    try:
        allowed = check_outbound_url(url, purpose=purpose)
    except OutboundURLError as exc:
        return SendResult(None, str(exc), refused=True)
    parts = urlsplit(allowed.url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    last_error = "no address to connect to"
    for address in allowed.addresses:
        if parts.scheme == "https":
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                allowed.host, allowed.port, timeout=timeout_s, context=ssl.create_default_context()
            )
        else:
            connection = http.client.HTTPConnection(allowed.host, allowed.port, timeout=timeout_s)
        _pinned(connection, address)
        try:
            connection.request("POST", path, body=body, headers={**headers, "Content-Length": str(len(body))})
            response = connection.getresponse()
            text = response.read(4096).decode("utf-8", "replace")
            status = response.status
            location = response.getheader("Location")
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, timeout, TLS, bad answer
            last_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if isinstance(exc, socket.timeout | TimeoutError):
                return SendResult(None, f"no answer within {timeout_s:g} s")
            continue  # another approved address of the host may answer
        finally:
            connection.close()
        error = None if 200 <= status < 300 else (text.strip()[:MAX_ERROR_BODY] or response.reason or None)
        return SendResult(status, error, location=location)
    return SendResult(None, last_error)


# --- urllib3 connections pinned to checked addresses ----------------------------------------------------------
def _bare(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


class _PinnedConnectionMixin:
    """Opens the socket to one of ``pinned_addresses`` instead of resolving the host again.

    ``host`` stays the URL's host name, so the Host header, TLS SNI and certificate checks are unchanged;
    only the TCP destination is fixed. A connection to any other host or port is refused outright, and so
    is every connection when no address was approved (a client that must only sign URLs, never connect).
    """

    pinned_host: str = ""
    pinned_port: int = 0
    pinned_addresses: tuple[str, ...] = ()

    def _new_conn(self) -> socket.socket:
        from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
        from urllib3.util.connection import create_connection

        this: Any = self
        if (_bare(this.host), this.port) != (self.pinned_host, self.pinned_port) or not self.pinned_addresses:
            raise NewConnectionError(
                this, f"refused to connect to {this.host}:{this.port}: only {self.pinned_host}:{self.pinned_port} "
                "at the addresses the outbound check approved may be reached"
            )
        last: OSError | None = None
        for address in self.pinned_addresses:
            try:
                sock = create_connection(
                    (address, this.port), this.timeout, source_address=this.source_address,
                    socket_options=this.socket_options,
                )
            except TimeoutError as exc:
                raise ConnectTimeoutError(
                    this, f"Connection to {this.host} ({address}) timed out. (connect timeout={this.timeout})"
                ) from exc
            except OSError as exc:  # refused, unreachable: another approved address may answer
                last = exc
                continue
            sys.audit("http.client.connect", this, this.host, this.port)
            return sock
        raise NewConnectionError(this, f"Failed to establish a new connection: {last}") from last


def pinned_connection_class(base: type, host: str, port: int, addresses: Sequence[str]) -> type:
    """A subclass of the urllib3 connection class ``base`` whose sockets go only to ``addresses`` (those
    :func:`core.outbound.check_outbound_url` approved for ``host``) and only for ``host:port``."""
    return type(
        f"Pinned{base.__name__}", (_PinnedConnectionMixin, base),
        {"pinned_host": _bare(host), "pinned_port": int(port), "pinned_addresses": tuple(addresses)},
    )
