"""Everything JWT and password: the only module that imports jose and pwdlib.

python-jose 3.5 accepts dangerous tokens with its default options (no exp, no aud, any typ,
short HMAC keys, algorithm confusion when `algorithms` is not passed). Every decode here
passes one explicit algorithm, requires every registered claim, checks `typ`, `iss` and
`aud`, refuses a future `iat` and oversized tokens, and allows at most 30 s of leeway.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import hashlib
import re
import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jose import jws, jwt
from jose.exceptions import ExpiredSignatureError, JOSEError
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from app.core import clock
from app.core.config import Settings
from app.core.errors import InvalidToken

SESSION_EXPIRED = "The session has expired; log in again"

ACCESS_TOKEN_TYPE = "at+jwt"
MAX_TOKEN_BYTES = 4096
LEEWAY_SECONDS = 30
MIN_HMAC_KEY_BYTES = 32
PASSWORD_MIN = 10
PASSWORD_MAX = 128
# Compact JWS only. base64 decoding skips characters outside its alphabet, so without this
# check a signed token with junk appended would still verify.
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
# Keys published with earlier releases of this project, as defaults or examples: whoever has
# read them can sign any token, so no server accepts them.
_PUBLISHED_KEYS = frozenset({"change-me-development-signing-key-32b"})
_ASYMMETRIC = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")

# Argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): about a third of the
# library default's memory per hash. Hashes made with other parameters still verify and are
# replaced at the next successful login (verify_and_update_password).
_password_hash = PasswordHash((Argon2Hasher(time_cost=2, memory_cost=19 * 1024, parallelism=1),))
# Hashes run one at a time per process, on a thread of their own: a burst of logins waits its
# turn (about 30 ms each here; run one API process per core for more) instead of holding
# 19 MiB per request thread. Run on the request threads, a burst of logins took a worker
# from about 110 MB to 240 MB.
_hashers = ThreadPoolExecutor(max_workers=1, thread_name_prefix="argon2")
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter


def _give_hash_memory_back() -> None:
    """Keep argon2's 19 MiB blocks as mmaps that go back to the OS when a hash is done.

    glibc raises its mmap threshold to the size of the largest mmapped block freed so far;
    from the second hash on, the blocks then came from the malloc heap and stayed in the
    process (about 20 MB per hashing thread). A fixed threshold turns that off. Elsewhere than
    glibc this does nothing.
    """
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(libc_name).mallopt(_M_MMAP_THRESHOLD, 1024 * 1024)


_give_hash_memory_back()


@functools.cache
def _dummy_hash() -> str:
    """Verified when the user does not exist, so an unknown user costs as much as a wrong
    password. Made at the first failed login, on the hashing threads: made at import, its
    19 MiB would count in every process's peak memory."""
    return _password_hash.hash(secrets.token_urlsafe(16))


class KeyConfigError(RuntimeError):
    """The signing configuration is unusable; the service must not start."""


@dataclass(frozen=True)
class AccessClaims:
    sub: str
    role: str
    unit: str | None
    scopes: tuple[str, ...]
    jti: str
    token_version: int
    client: bool
    expires_at: datetime
    # The refresh-token family (login) a person's token was minted in; None for clients.
    family: str | None = None


def hash_password(password: str) -> str:
    return _hashers.submit(_password_hash.hash, password).result()


def verify_password(password: str, password_hash: str | None) -> bool:
    """Constant-cost check: an absent hash still runs a full argon2 verification."""
    return verify_and_update_password(password, password_hash)[0]


def verify_and_update_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """(valid, new hash): the new hash is set when the stored one used older parameters."""
    return _hashers.submit(_verify_and_update, password, password_hash).result()


def _verify_and_update(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    if password_hash is None:
        _password_hash.verify(password, _dummy_hash())
        return False, None
    try:
        return _password_hash.verify_and_update(password, password_hash)
    except Exception:  # a malformed stored hash is a failed login, never a 500
        return False, None


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def hash_opaque_token(token: str) -> str:
    """Refresh tokens and client secrets are high-entropy: SHA-256 is the right hash."""
    return hashlib.sha256(token.encode()).hexdigest()


def _keys(settings: Settings) -> tuple[Any, Any]:
    """(signing key, verification key) for the configured algorithm."""
    algorithm = settings.jwt_algorithm
    if algorithm in _ASYMMETRIC:
        if not settings.jwt_private_key or not settings.jwt_public_key:
            raise KeyConfigError(
                f"{algorithm} needs TRANTIB_JWT_PRIVATE_KEY and TRANTIB_JWT_PUBLIC_KEY"
            )
        return settings.jwt_private_key, settings.jwt_public_key
    if algorithm not in ("HS256", "HS384", "HS512"):
        raise KeyConfigError(f"unsupported JWT algorithm {algorithm!r}")
    key = settings.jwt_signing_key
    if key is None:
        raise KeyConfigError("TRANTIB_JWT_SIGNING_KEY is not set; set a random key of 32+ bytes")
    if key in _PUBLISHED_KEYS:
        raise KeyConfigError(
            "TRANTIB_JWT_SIGNING_KEY is a published example key; set a random key of 32+ bytes"
        )
    if len(key.encode()) < MIN_HMAC_KEY_BYTES:
        raise KeyConfigError(f"TRANTIB_JWT_SIGNING_KEY must be at least {MIN_HMAC_KEY_BYTES} bytes")
    return key, key


def check_key_config(settings: Settings) -> None:
    _keys(settings)


def create_access_token(
    settings: Settings,
    *,
    subject: str,
    role: str,
    unit: str | None,
    scopes: list[str],
    token_version: int,
    client: bool = False,
    family: str | None = None,
) -> tuple[str, AccessClaims]:
    signing_key, _ = _keys(settings)
    issued = clock.now()
    expires = issued + timedelta(minutes=settings.access_token_minutes)
    jti = uuid.uuid4().hex
    claims = {
        "sub": subject,
        "role": role,
        "unit": unit,
        "scope": " ".join(scopes),
        "ver": token_version,
        "cli": client,
        "iat": int(issued.timestamp()),
        "nbf": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "jti": jti,
    }
    if family is not None:
        claims["fam"] = family
    headers = {"typ": ACCESS_TOKEN_TYPE, "kid": settings.jwt_key_id}
    token = jwt.encode(claims, signing_key, algorithm=settings.jwt_algorithm, headers=headers)
    return token, AccessClaims(
        subject, role, unit, tuple(scopes), jti, token_version, client, expires, family
    )


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    """Verify a bearer token or raise InvalidToken (401) with a reason that leaks nothing.

    A token whose signature and claims verified once under the same settings is remembered
    (`_verified`): its times are checked again against the clock on every use, and whether
    it was revoked is the caller lookup's business (app.auth.deps), as for a fresh one.
    """
    _, verify_key = _keys(settings)
    policy = (
        settings.jwt_algorithm,
        settings.jwt_key_id,
        verify_key,
        settings.jwt_audience,
        settings.jwt_issuer,
        settings.access_token_minutes,
    )
    known = _verified.get((policy, token))
    if known is not None:
        claims, times = known
        _check_times(settings, *times)
        return claims
    claims, times = _verify(settings, verify_key, token)
    if len(_verified) >= VERIFIED_TOKENS_KEPT:
        # The oldest first: dicts keep insertion order.
        _verified.pop(next(iter(_verified)), None)
    _verified[(policy, token)] = (claims, times)
    return claims


# Tokens verified in this process, with their iat, nbf and exp; at most this many.
VERIFIED_TOKENS_KEPT = 4096
_verified: dict[tuple[Any, str], tuple[AccessClaims, tuple[int, int, int]]] = {}


def _verify(
    settings: Settings, verify_key: Any, token: str
) -> tuple[AccessClaims, tuple[int, int, int]]:
    if len(token.encode()) > MAX_TOKEN_BYTES:
        raise InvalidToken("Token too large")
    if not _COMPACT_JWS.fullmatch(token):
        raise InvalidToken("Malformed token")
    try:
        header = jws.get_unverified_header(token)
    # JWSError (a bad header) is a JOSEError but not a JWTError; catching only JWTError let
    # malformed tokens through as a 500.
    except (JOSEError, ValueError, TypeError) as exc:
        raise InvalidToken("Malformed token") from exc
    if header.get("alg") != settings.jwt_algorithm:
        raise InvalidToken("Token algorithm not accepted")
    if header.get("typ") != ACCESS_TOKEN_TYPE:
        raise InvalidToken("Not an access token")
    if header.get("kid") != settings.jwt_key_id:
        raise InvalidToken("Unknown signing key")
    try:
        claims = jwt.decode(
            token,
            verify_key,
            algorithms=[settings.jwt_algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={
                "verify_signature": True,
                "verify_aud": True,
                "verify_iat": True,
                "verify_exp": True,
                "verify_nbf": True,
                "verify_iss": True,
                "verify_sub": True,
                "verify_jti": True,
                "require_aud": True,
                "require_iat": True,
                "require_exp": True,
                "require_nbf": True,
                "require_iss": True,
                "require_sub": True,
                "require_jti": True,
                "leeway": LEEWAY_SECONDS,
            },
        )
    except ExpiredSignatureError as exc:
        raise InvalidToken(SESSION_EXPIRED, reason="expired") from exc
    except (JOSEError, ValueError, TypeError) as exc:
        raise InvalidToken("Token signature or claims are not valid") from exc
    times: list[Any] = [claims.get(name) for name in ("iat", "nbf", "exp")]
    # python-jose takes "exp": "1e3" or a float; arithmetic on them below would be a 500.
    if not all(type(value) is int for value in times):
        raise InvalidToken("Token times are not integers")
    iat, nbf, exp = times
    _check_times(settings, iat, nbf, exp)

    try:
        verified = AccessClaims(
            sub=str(claims["sub"]),
            role=str(claims["role"]),
            unit=claims.get("unit"),
            scopes=tuple(str(claims.get("scope", "")).split()),
            jti=str(claims["jti"]),
            token_version=int(claims["ver"]),
            client=bool(claims.get("cli", False)),
            expires_at=datetime.fromtimestamp(exp, tz=clock.now().tzinfo),
            family=str(claims["fam"]) if claims.get("fam") is not None else None,
        )
    except (KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
        raise InvalidToken("Token claims are incomplete") from exc
    return verified, (iat, nbf, exp)


def _check_times(settings: Settings, iat: int, nbf: int, exp: int) -> None:
    now_ts = clock.now().timestamp()
    if iat > now_ts + LEEWAY_SECONDS:
        raise InvalidToken("Token issued in the future")
    # python-jose checks exp/nbf against the system clock; the service clock decides too.
    if exp + LEEWAY_SECONDS < now_ts:
        raise InvalidToken(SESSION_EXPIRED, reason="expired")
    if nbf - LEEWAY_SECONDS > now_ts:
        raise InvalidToken("Token not yet valid")
    # No token this service issues lives longer than the configured lifetime: one that
    # claims to (exp in the year 3000) was not issued here, or not under these settings.
    lifetime = settings.access_token_minutes * 60 + LEEWAY_SECONDS
    if exp - iat > lifetime or exp > now_ts + lifetime:
        raise InvalidToken("Token lifetime is longer than the service issues")
