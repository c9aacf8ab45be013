"""Password hashing with argon2id (argon2-cffi's defaults follow RFC 9106's recommendation)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

PASSWORD_MIN = 10
PASSWORD_MAX = 1024

_hasher = PasswordHasher()  # argon2id
DUMMY_PASSWORD = "pas-un-vrai-mot-de-passe"
# Verifying against this when the account does not exist keeps the timing of a failed login
# the same whether or not the address is registered.
_DUMMY_HASH = _hasher.hash(DUMMY_PASSWORD)


def use_hasher(hasher: PasswordHasher) -> None:
    """Swaps the hasher (the test suite uses cheaper argon2id parameters to stay fast)."""
    global _hasher, _DUMMY_HASH
    _hasher = hasher
    _DUMMY_HASH = hasher.hash(DUMMY_PASSWORD)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
