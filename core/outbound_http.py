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
"""
from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass
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
