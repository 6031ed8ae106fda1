"""The outbound allow-list refuses internal addresses unless an administrator lists them."""
from __future__ import annotations

import pytest

from core.outbound import ALLOW_ENV, OutboundURLError, check_outbound_url


def fixed(*addresses: str):
    return lambda host: list(addresses)


@pytest.mark.parametrize(
    "url, addresses",
    [
        ("http://169.254.169.254/latest/meta-data/", ()),
        ("http://127.0.0.1:8501/", ()),
        ("http://[::1]/", ()),
        ("http://[::ffff:10.0.0.1]/", ()),
        ("http://internal.example/hook", ("10.1.2.3",)),
        ("http://rebind.example/hook", ("93.184.216.34", "192.168.0.10")),  # one bad answer is enough
        ("http://0.0.0.0/", ()),
    ],
)
def test_internal_addresses_are_refused(monkeypatch, url, addresses):
    monkeypatch.delenv(ALLOW_ENV, raising=False)
    with pytest.raises(OutboundURLError, match="internal address"):
        check_outbound_url(url, purpose="webhook", resolver=fixed(*addresses))


@pytest.mark.parametrize(
    "url, message",
    [
        ("file:///etc/passwd", "must start with http"),
        ("gopher://example.com/", "must start with http"),
        ("http:///nohost", "has no host"),
        ("http://user:pw@example.com/", "user name or password"),
        ("http://example.com:99999/", "malformed"),
    ],
)
def test_malformed_urls_are_refused_with_the_purpose_named(url, message):
    with pytest.raises(OutboundURLError, match=message) as info:
        check_outbound_url(url, purpose="S3 endpoint", resolver=fixed("93.184.216.34"))
    assert "S3 endpoint" in str(info.value) or "user name" in str(info.value)


def test_public_hosts_pass_with_their_addresses():
    allowed = check_outbound_url("https://hooks.example.com/x", purpose="webhook", resolver=fixed("93.184.216.34"))
    assert allowed.addresses == ("93.184.216.34",) and allowed.port == 443 and allowed.host == "hooks.example.com"


@pytest.mark.parametrize(
    "allow, url, addresses",
    [
        ("127.0.0.1", "http://127.0.0.1:5000/", ()),
        ("10.0.0.0/8", "http://minio.lan:9000/", ("10.4.5.6",)),
        ("minio.lan", "http://minio.lan:9000/", ("10.4.5.6",)),
        ("*.corp.example", "http://s3.eu.corp.example/", ("172.16.0.9",)),
    ],
)
def test_the_allow_list_admits_named_hosts_and_networks(monkeypatch, allow, url, addresses):
    monkeypatch.setenv(ALLOW_ENV, allow)
    assert check_outbound_url(url, purpose="webhook", resolver=fixed(*addresses)).url == url


def test_the_allow_list_does_not_admit_other_internal_hosts(monkeypatch):
    monkeypatch.setenv(ALLOW_ENV, "127.0.0.1,*.corp.example")
    with pytest.raises(OutboundURLError):
        check_outbound_url("http://corp.example.evil/", purpose="webhook", resolver=fixed("10.0.0.1"))
    with pytest.raises(OutboundURLError):
        check_outbound_url("http://127.0.0.2/", purpose="webhook")
