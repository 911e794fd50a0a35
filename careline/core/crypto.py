"""Secrets at rest (TOTP seeds, check credentials, SMTP passwords), encrypted with Fernet.

CARELINE_ENCRYPTION_KEYS holds one or more keys, comma-separated: the first encrypts, every
one decrypts, so an old key can be retired after `careline` re-saves the rows.
"""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


def _fernet_key(material: str) -> bytes:
    # Any string an operator supplies becomes a valid 32-byte Fernet key; a string that
    # already is one is used as it is.
    try:
        if len(base64.urlsafe_b64decode(material.encode())) == 32:
            return material.encode()
    except ValueError:
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(material.encode()).digest())


@functools.cache
def _cipher() -> MultiFernet:
    return MultiFernet(
        [Fernet(_fernet_key(k.strip())) for k in settings.ENCRYPTION_KEYS if k.strip()]
    )


def encrypt(plaintext: str) -> str:
    return _cipher().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError("encrypted value cannot be read with the configured keys") from None
