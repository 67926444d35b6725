"""The service's VAPID key (RFC 8292): the push services learn from it who sends.

The key is an EC P-256 private key, given as PEM or as the raw 32-byte scalar in base64url
(what web-push tools print). Phones subscribe with its public half, the uncompressed point
in base64url (`applicationServerKey`); a push service refuses messages signed by another key
with 403, so the key must never change under existing subscriptions.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid, VapidException


class VapidKeyInvalid(ValueError):
    """The configured key is not an EC P-256 private key."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Base64url with or without padding; raises ValueError (binascii.Error) when not."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_private_key_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


@lru_cache(maxsize=4)
def load(private_key: str) -> Vapid:
    """The signer for a configured key (cached: parsing it is the costly part)."""
    text = private_key.strip()
    try:
        vapid = (
            Vapid.from_pem(text.encode("ascii"))
            if text.startswith("-----BEGIN")
            else Vapid.from_string(text)
        )
    except (VapidException, ValueError, TypeError) as exc:
        raise VapidKeyInvalid("not an EC P-256 private key (PEM or raw base64url)") from exc
    if not isinstance(vapid.private_key.curve, ec.SECP256R1):
        raise VapidKeyInvalid("the VAPID key must be on the P-256 curve")
    return vapid


def check(private_key: str, subject: str) -> None:
    """Raise VapidKeyInvalid unless the key loads and signs claims with this subject (the
    library that signs has its own, stricter rule for a mailto: or https: subject)."""
    try:
        load(private_key).sign({"sub": subject, "aud": "https://push.example.com"})
    except VapidException as exc:
        raise VapidKeyInvalid(
            f"TRANTIB_PUSH_VAPID_SUBJECT: not a usable mailto: or https: contact ({subject})"
        ) from exc


def public_key(private_key: str) -> str:
    """The applicationServerKey phones subscribe with: the public point, base64url."""
    point = load(private_key).public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(point)
