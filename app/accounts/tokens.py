"""Random secrets and their stored form.

Secrets that travel (session cookies, e-mailed links, API tokens) are 256-bit random strings;
the database keeps only their SHA-256, which is enough for high-entropy values and lets us
look them up by hash.
"""

from __future__ import annotations

import hashlib
import secrets

API_TOKEN_PREFIX = "bourse_"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_api_token() -> str:
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)
