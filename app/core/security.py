"""Passwords, session ids, API tokens and CSRF tokens."""

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# A valid hash to verify against when the user does not exist, so timing does not leak names.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


# API tokens carry this prefix, so a leaked one is easy to recognise (and to grep for).
API_TOKEN_PREFIX = "clt_"


def new_secret() -> str:
    """A random secret for a session id or an API token (32 bytes)."""
    return secrets.token_urlsafe(32)


def new_api_token() -> str:
    return API_TOKEN_PREFIX + new_secret()


def secret_hash(secret: str) -> str:
    """How a session id or token is stored and looked up. A plain sha256 suffices: the
    secrets are 32 random bytes, so there is nothing to brute-force (unlike passwords)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))
