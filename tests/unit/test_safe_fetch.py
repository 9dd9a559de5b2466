"""The photo-fetch address policy: pure functions, no network."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from briefcast.pipeline.render.safe_fetch import (
    AllowList,
    FetchError,
    RefusedAddressError,
    check_address,
    check_url,
    pinned_request,
    refusal,
    target,
)
from briefcast.settings import Settings


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "a loopback address"),
        ("127.8.9.10", "a loopback address"),
        ("10.0.0.5", "a private address"),
        ("10.255.255.255", "a private address"),
        ("172.16.0.1", "a private address"),
        ("172.31.255.254", "a private address"),
        ("192.168.1.1", "a private address"),
        ("100.64.0.1", "a shared (CGNAT) address"),
        ("100.127.255.254", "a shared (CGNAT) address"),
        ("169.254.169.254", "a link-local address"),  # the cloud metadata service
        ("224.0.0.1", "a multicast address"),
        ("239.255.255.250", "a multicast address"),
        ("240.0.0.1", "a reserved address"),
        ("255.255.255.255", "a reserved address"),  # broadcast
        ("0.0.0.0", "an unspecified address"),  # noqa: S104 - the address under test
        ("0.1.2.3", "an unspecified address"),
        ("192.0.2.1", "a private address"),  # documentation range
        ("::", "an unspecified address"),
        ("::1", "a loopback address"),
        ("fe80::1", "a link-local address"),
        ("fc00::1", "a private (unique-local) address"),
        ("fd12:3456:789a::1", "a private (unique-local) address"),
        ("fec0::1", "a site-local address"),
        ("ff02::1", "a multicast address"),
        ("ff0e::1", "a multicast address"),
        ("2001:db8::1", "a private address"),  # documentation range
    ],
)
def test_non_public_addresses_are_refused_with_their_kind(address: str, reason: str) -> None:
    assert refusal(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    ("address", "inner"),
    [
        ("::ffff:127.0.0.1", "a loopback address (127.0.0.1)"),
        ("::ffff:10.0.0.5", "a private address (10.0.0.5)"),
        ("::ffff:169.254.169.254", "a link-local address (169.254.169.254)"),
        ("::ffff:0.0.0.0", "an unspecified address (0.0.0.0)"),
        ("::127.0.0.1", "a loopback address (127.0.0.1)"),  # IPv4-compatible (deprecated)
        ("::192.168.0.1", "a private address (192.168.0.1)"),
        ("64:ff9b::10.0.0.5", "a private address (10.0.0.5)"),  # NAT64
        ("2002:7f00:1::", "a loopback address (127.0.0.1)"),  # 6to4
    ],
)
def test_ipv6_forms_of_non_public_ipv4_addresses_are_refused(address: str, inner: str) -> None:
    reason = refusal(ipaddress.ip_address(address))
    assert reason is not None and reason.endswith(f"IPv6 form of {inner}"), reason


@pytest.mark.parametrize(
    "address",
    ["93.184.215.14", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"],
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None
    check_address("photos.example", ipaddress.ip_address(address), AllowList())


def test_the_refusal_says_what_and_where_and_what_to_do() -> None:
    with pytest.raises(RefusedAddressError) as caught:
        check_address("cdn.example", ipaddress.ip_address("10.0.0.5"), AllowList())
    message = str(caught.value)
    assert message.startswith(
        "photo_url resolves to a private address (10.0.0.5); only public addresses are fetched"
    )
    assert "PHOTO_FETCH_ALLOWED_HOSTS" in message


def test_an_allow_listed_host_name_may_be_private() -> None:
    allowed = AllowList.parse(["Images.Internal", " "])
    check_address("images.internal", ipaddress.ip_address("10.0.0.5"), allowed)
    check_address("IMAGES.INTERNAL.", ipaddress.ip_address("127.0.0.1"), allowed)
    with pytest.raises(RefusedAddressError):  # the name is trusted, not every private host
        check_address("other.internal", ipaddress.ip_address("10.0.0.5"), allowed)


def test_an_allow_listed_range_or_address_may_be_private() -> None:
    allowed = AllowList.parse(["10.1.0.0/16", "127.0.0.1", "fd00::/8"])
    check_address("a.internal", ipaddress.ip_address("10.1.2.3"), allowed)
    check_address("127.0.0.1", ipaddress.ip_address("127.0.0.1"), allowed)
    check_address("v6.internal", ipaddress.ip_address("fd00::5"), allowed)
    for outside in ("10.2.0.1", "127.0.0.2", "::1", "169.254.169.254"):
        with pytest.raises(RefusedAddressError):
            check_address("a.internal", ipaddress.ip_address(outside), allowed)


def test_a_malformed_allow_list_entry_is_an_error() -> None:
    with pytest.raises(ValueError, match="not a host name"):
        AllowList.parse(["10.0.0.0/33"])


def test_the_setting_takes_a_comma_list_or_json_and_refuses_bad_ranges() -> None:
    comma = Settings(photo_fetch_allowed_hosts="images.internal, 10.0.0.0/8,")
    assert comma.photo_fetch_allowed_hosts == ["images.internal", "10.0.0.0/8"]
    as_json = Settings(photo_fetch_allowed_hosts='["127.0.0.1"]')
    assert as_json.photo_fetch_allowed_hosts == ["127.0.0.1"]
    assert Settings().photo_fetch_allowed_hosts == []
    with pytest.raises(ValueError, match="not a host name"):
        Settings(photo_fetch_allowed_hosts="10.0.0.0/33")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "must be an http or https URL"),
        ("ftp://example.com/a.jpg", "must be an http or https URL"),
        ("gopher://example.com/", "must be an http or https URL"),
        ("http:///a.jpg", "has no host name"),
        ("https://user:secret@example.com/a.jpg", "must not carry a user name or password"),
    ],
)
def test_only_plain_http_and_https_urls_are_fetched(url: str, message: str) -> None:
    with pytest.raises(RefusedAddressError, match=message):
        check_url(url)


def test_every_address_of_a_name_is_checked_once() -> None:
    calls: list[tuple[str, int]] = []

    def resolver(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        calls.append((host, port))
        return [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("10.0.0.5")]

    with pytest.raises(RefusedAddressError, match=r"a private address \(10\.0\.0\.5\)"):
        target(httpx.URL("https://Photos.Example/a.jpg"), AllowList(), resolver)
    assert calls == [("photos.example", 443)]


def test_a_name_that_does_not_resolve_is_a_clear_failure() -> None:
    def resolver(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        raise OSError("Name or service not known")

    with pytest.raises(FetchError, match=r"host nowhere\.example could not be resolved"):
        target(httpx.URL("http://nowhere.example/a.jpg"), AllowList(), resolver)


def test_the_request_goes_to_the_checked_ip_with_the_original_host_and_sni() -> None:
    hop = target(
        httpx.URL("https://photos.example:8443/a.jpg?size=l"),
        AllowList(),
        lambda host, port: [ipaddress.ip_address("93.184.215.14")],
    )
    with httpx.Client() as client:
        request = pinned_request(client, hop, hop.addresses[0])
        assert str(request.url) == "https://93.184.215.14:8443/a.jpg?size=l"
        assert request.headers["Host"] == "photos.example:8443"
        assert request.extensions["sni_hostname"] == "photos.example"
        v6 = pinned_request(client, hop, ipaddress.ip_address("2606:4700:4700::1111"))
        assert str(v6.url) == "https://[2606:4700:4700::1111]:8443/a.jpg?size=l"
        literal = target(
            httpx.URL("https://93.184.215.14/a.jpg"), AllowList(), lambda h, p: [hop.addresses[0]]
        )
        assert "sni_hostname" not in pinned_request(client, literal, hop.addresses[0]).extensions
