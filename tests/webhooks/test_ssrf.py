"""Address rules and the pinned request target, without the network."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from app.webhooks import delivery, ssrf
from app.webhooks.service import new_secret


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("10.255.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.0.1", "private"),
        ("169.254.169.254", "link-local"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("239.255.255.250", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("240.0.0.1", "private"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fd00::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("2002:a00:1::", "private"),  # 6to4 wrapping 10.0.0.1
        ("8.8.8.8", None),
        ("100.128.0.1", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_address_rules(address: str, why: str | None) -> None:
    assert ssrf.address_problem(ipaddress.ip_address(address)) == why


def test_the_request_goes_to_the_checked_address() -> None:
    target = ssrf.check_url(
        "https://localhost:8443/hooks?x=1", allow_http=False, allow_private=True
    )
    assert target.host == "localhost"
    assert target.host_header == "localhost:8443"
    assert target.pinned_url in (
        "https://127.0.0.1:8443/hooks?x=1",
        "https://[::1]:8443/hooks?x=1",
    )
    v6 = ssrf.check_url("http://[::1]/h", allow_http=True, allow_private=True)
    assert v6.host_header == "[::1]"
    assert v6.pinned_url == "http://[::1]:80/h"


def test_signatures_match_the_reference_library() -> None:
    secret = new_secret()
    body = b'{"id":"e1","type":"step.completed","data":{"step":1}}'
    stamp = 1_795_000_000
    expected = Webhook(secret).sign("e1", datetime.fromtimestamp(stamp, UTC), body.decode())
    assert delivery.sign(secret, "e1", stamp, body) == expected
