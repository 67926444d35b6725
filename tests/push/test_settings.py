"""Push settings: production refuses push without a VAPID key and the tests' local
allowances; the key may come from a file; a key that is not P-256 stops the start."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.engine import Engine

from app.main import StartupRefused, check_startup
from app.push.vapid import new_private_key_pem
from tests.test_settings import _drop_demo_users, _production, _settings


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        (
            {"push_enabled": True, "push_vapid_private_key": None},
            "TRANTIB_PUSH_ENABLED is true but TRANTIB_PUSH_VAPID_PRIVATE_KEY",
        ),
        ({"push_allow_http": True}, "TRANTIB_PUSH_ALLOW_HTTP must be false in production"),
        ({"push_allow_private": True}, "TRANTIB_PUSH_ALLOW_PRIVATE must be false in production"),
    ],
    ids=["no-vapid-key", "http-endpoints", "private-endpoints"],
)
def test_production_refuses(
    database_url: str, db: Engine, overrides: dict[str, object], reason: str
) -> None:
    _drop_demo_users(db)
    with pytest.raises(StartupRefused) as refused:
        check_startup(_production(database_url, **overrides))
    assert reason in str(refused.value)
    assert "\n" not in str(refused.value)


def test_production_starts_with_push_and_a_key_from_a_file(
    database_url: str, db: Engine, tmp_path: Path
) -> None:
    _drop_demo_users(db)
    key_file = tmp_path / "vapid.pem"
    key_file.write_text(new_private_key_pem())
    settings = _production(
        database_url,
        push_enabled=True,
        push_vapid_private_key=None,
        push_vapid_private_key_file=key_file,
    )
    assert settings.push_vapid_private_key == key_file.read_text()
    check_startup(settings)


def test_a_key_not_on_p256_stops_the_start(database_url: str) -> None:
    other_curve = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    settings = _settings(
        database_url=database_url,
        push_enabled=True,
        push_vapid_private_key=other_curve.decode(),
    )
    with pytest.raises(StartupRefused, match="TRANTIB_PUSH_VAPID_PRIVATE_KEY"):
        check_startup(settings)


def test_the_subject_must_be_mailto_or_https() -> None:
    with pytest.raises(ValueError, match="push_vapid_subject"):
        _settings(push_vapid_subject="trantib@example.com")


def test_a_subject_the_signer_refuses_stops_the_start(database_url: str) -> None:
    # Shaped like a mailto: URL, but with no domain the push services would accept.
    settings = _settings(
        database_url=database_url, push_enabled=True, push_vapid_subject="mailto:a@b"
    )
    with pytest.raises(StartupRefused, match="TRANTIB_PUSH_VAPID_SUBJECT"):
        check_startup(settings)
