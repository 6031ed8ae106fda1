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


# --- IPv6 addresses that carry an IPv4 address are judged by it -----------------------------------------------
@pytest.mark.parametrize(
    "url, addresses, carried",
    [
        ("http://[64:ff9b::7f00:1]/", (), "127.0.0.1"),  # NAT64 of loopback
        ("http://[64:ff9b::a9fe:a9fe]/latest/meta-data/", (), "169.254.169.254"),  # NAT64 of the metadata service
        ("http://[64:ff9b::10.0.0.1]/", (), "10.0.0.1"),
        ("http://[2002:7f00:1::]/", (), "127.0.0.1"),  # 6to4 of loopback
        ("http://[2002:a9fe:a9fe::1]/", (), "169.254.169.254"),
        ("http://[::127.0.0.1]/", (), "127.0.0.1"),  # IPv4-compatible
        ("http://[::ffff:127.0.0.1]/", (), "127.0.0.1"),  # IPv4-mapped
        ("http://nat64.example/", ("64:ff9b::c0a8:1",), "192.168.0.1"),  # a host name resolving to one
    ],
)
def test_ipv6_addresses_carrying_an_internal_ipv4_address_are_refused(monkeypatch, url, addresses, carried):
    monkeypatch.delenv(ALLOW_ENV, raising=False)
    with pytest.raises(OutboundURLError, match=f"internal address .*carries {carried}"):
        check_outbound_url(url, purpose="webhook", resolver=fixed(*addresses))


@pytest.mark.parametrize("url", ["http://[64:ff9b::5db8:d822]/", "http://[2002:5db8:d822::1]/", "http://[::ffff:93.184.216.34]/"])
def test_ipv6_addresses_carrying_a_public_ipv4_address_pass(monkeypatch, url):
    monkeypatch.delenv(ALLOW_ENV, raising=False)
    assert check_outbound_url(url, purpose="webhook").url == url


@pytest.mark.parametrize("address", ["64:ff9b:1::a00:1", "3fff::1", "5f00::1"])
def test_special_ipv6_ranges_older_pythons_call_global_are_refused(monkeypatch, address):
    monkeypatch.delenv(ALLOW_ENV, raising=False)
    with pytest.raises(OutboundURLError, match="internal address"):
        check_outbound_url(f"http://[{address}]/", purpose="webhook")


def test_embedded_ipv4_reads_each_form():
    import ipaddress

    from core.outbound import embedded_ipv4, is_public

    for text in ("64:ff9b::7f00:1", "2002:7f00:1::", "::127.0.0.1", "::ffff:127.0.0.1"):
        assert embedded_ipv4(ipaddress.ip_address(text)) == ipaddress.IPv4Address("127.0.0.1"), text
    assert embedded_ipv4(ipaddress.ip_address("2001:db8::1")) is None
    assert embedded_ipv4(ipaddress.ip_address("127.0.0.1")) is None
    assert not is_public(ipaddress.ip_address("::"))  # unspecified, and "IPv4-compatible" 0.0.0.0
    assert not is_public(ipaddress.ip_address("::1"))
    assert is_public(ipaddress.ip_address("2606:4700::1111"))


def test_an_allowed_network_also_admits_the_ipv6_forms_of_its_addresses(monkeypatch):
    monkeypatch.setenv(ALLOW_ENV, "10.0.0.0/8")
    for url in ("http://[::ffff:10.1.2.3]/", "http://[64:ff9b::a01:203]/"):
        assert check_outbound_url(url, purpose="S3 endpoint").url == url
    with pytest.raises(OutboundURLError, match="carries 127.0.0.1"):
        check_outbound_url("http://[64:ff9b::7f00:1]/", purpose="S3 endpoint")
