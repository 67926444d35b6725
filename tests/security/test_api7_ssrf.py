"""API7:2023 Server Side Request Forgery: webhook URLs.

tests/webhooks/ checks the address rules one by one and the common URL forms. Added here:
other spellings of loopback and metadata addresses, schemes and credentials; names that
resolve (DNS answered by a stand-in `getaddrinfo`, no network) to loopback, or to a public
and a private address at once, or to a public one at subscription and loopback at delivery
(rebinding); and redirects: a receiver answering 3xx with a private Location is not followed,
the delivery fails and the Location is never reached.

No request ever leaves this machine: refused URLs are refused before any connection, and
the only servers are on 127.0.0.1.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app.webhooks import delivery, ssrf
from tests.lifecycle.flow import Flow
from tests.security.conftest import API, problem
from tests.webhooks.conftest import Receiver

SUBSCRIPTIONS = f"{API}/webhooks/subscriptions"


def subscribe(client: Any, admin: dict[str, str], url: str) -> Any:
    body = {"url": url, "event_types": ["step.completed"], "description": "Sistem Pemkot"}
    return client.post(SUBSCRIPTIONS, json=body, headers=admin)


REFUSED = [
    ("https://127.0.0.1/", "address"),
    ("https://10.1.2.3/", "address"),
    ("https://172.16.0.1/", "address"),
    ("https://192.168.100.1/", "address"),
    ("https://169.254.169.254/latest/meta-data/iam/", "address"),
    ("https://[::ffff:169.254.169.254]/", "address"),
    ("https://[fd00:ec2::254]/", "address"),
    ("https://100.100.100.200/", "address"),  # another cloud's metadata, in shared space
    ("https://[::1]/", "address"),
    ("https://[0:0:0:0:0:0:0:1]/", "address"),
    ("https://[::ffff:7f00:1]/", "address"),
    ("https://[64:ff9b::7f00:1]/", "address"),
    ("https://0177.0.0.1/", "address"),
    ("https://0x7f.0.0.1/", "address"),
    ("https://127.1/", "address"),
    ("https://0x7f000001/", "address"),
    ("https://0/", "address"),
    ("https://198.18.0.1/", "address"),
    ("https://8.8.8.8@127.0.0.1/", "invalid"),
    ("https://user:pass@8.8.8.8/", "invalid"),
    ("file:///etc/passwd", "invalid"),
    ("gopher://127.0.0.1:6379/_INFO", "invalid"),
    ("ftp://8.8.8.8/", "invalid"),
    ("http://8.8.8.8/", "scheme"),
    ("https://8.8.8.8:0/", "invalid"),
    ("https://hooks.pemkot.example:00/", "invalid"),
]


def test_non_public_targets_are_422(client, auth) -> None:
    # One test for all (each test's database reset costs more than these requests).
    for url, reason in REFUSED:
        response = subscribe(client, auth("admin"), url)
        if reason == "invalid":
            # Not an absolute https URL at all: refused by the body's schema.
            found = problem(response, 422, "validation-error")
            assert found["errors"][0]["field"] == "url", found
        else:
            found = problem(response, 422, "webhook-url-not-allowed")
            assert found["reason"] == reason, (url, found)
    assert client.get(SUBSCRIPTIONS, headers=auth("admin")).json()["total"] == 0


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[str]]]:
    """Names answered here instead of by DNS; every other lookup goes to the real resolver."""
    answers: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name in answers:
            found = []
            for address in answers[name]:
                family = socket.AF_INET6 if ":" in address else socket.AF_INET
                sockaddr = (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
                found.append((family, socket.SOCK_STREAM, 6, "", sockaddr))
            return found
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(ssrf.socket, "getaddrinfo", getaddrinfo)
    yield answers


RESOLVING = {
    "loopback": ["127.0.0.1"],
    "ipv6-loopback": ["::1"],
    "metadata": ["169.254.169.254"],
    "public+private": ["8.8.8.8", "10.0.0.7"],
    "public+ipv6-loopback": ["8.8.8.8", "::1"],
}


def test_a_name_resolving_to_a_private_address_is_422(client, auth, dns) -> None:
    for case, addresses in RESOLVING.items():
        dns["hooks.pemkot.example"] = addresses
        found = problem(
            subscribe(client, auth("admin"), "https://hooks.pemkot.example/trantib"),
            422,
            "webhook-url-not-allowed",
        )
        assert found["reason"] == "address", case
    dns["hooks.pemkot.example"] = ["8.8.8.8"]
    assert subscribe(client, auth("admin"), "https://hooks.pemkot.example/t").status_code == 201


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def make(**options: Any) -> Receiver:
        server = Receiver(**options).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def test_rebinding_to_loopback_after_subscribing_is_caught_at_delivery(
    client, auth, dns, receivers, settings_env, flow: Flow
) -> None:
    settings_env(webhooks_allow_http=True)
    receiver = receivers()
    dns["hooks.pemkot.example"] = ["8.8.8.8"]
    created = subscribe(client, auth("admin"), f"http://hooks.pemkot.example:{receiver.port}/h")
    assert created.status_code == 201, created.text
    flow.run_to(2)
    dns["hooks.pemkot.example"] = ["127.0.0.1"]
    report = delivery.run_once()
    assert (report.delivered, report.failed) == (0, 1)
    assert receiver.received == []
    listed = client.get(
        f"{SUBSCRIPTIONS}/{created.json()['id']}/deliveries", headers=auth("admin")
    ).json()["items"]
    assert [d["last_error"] for d in listed] == ["url_not_allowed:address"]


def test_a_redirect_to_a_private_address_is_not_followed(
    client, auth, receivers, settings_env, flow: Flow
) -> None:
    # Local receivers need loopback allowed; the redirect target is loopback too, so the
    # address rules would let it pass: only the refusal to follow keeps it unreached.
    settings_env(webhooks_allow_http=True, webhooks_allow_private=True)
    internal = receivers()
    subscriptions = {}
    for status in (301, 302, 303, 307, 308):
        redirecting = receivers(
            fail_first=10, fail_status=status, extra_headers={"Location": internal.url}
        )
        created = subscribe(client, auth("admin"), redirecting.url)
        assert created.status_code == 201, created.text
        subscriptions[status] = (created.json()["id"], redirecting)
    flow.run_to(2)
    report = delivery.run_once()
    assert (report.delivered, report.failed) == (0, 5)
    assert internal.received == []
    for status, (subscription_id, redirecting) in subscriptions.items():
        assert len(redirecting.received) == 1
        listed = client.get(
            f"{SUBSCRIPTIONS}/{subscription_id}/deliveries", headers=auth("admin")
        ).json()["items"]
        assert [(d["status"], d["last_status_code"], d["last_error"]) for d in listed] == [
            ("pending", status, "redirect_not_followed")
        ]


def test_the_sender_ignores_proxy_settings_from_the_environment(monkeypatch) -> None:
    # A proxy would make the real hop an unchecked address.
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    from app.core.config import get_settings

    with delivery.http_client(get_settings()) as sender:
        assert sender._trust_env is False
        assert sender.follow_redirects is False
