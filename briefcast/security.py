"""Encryption at rest for platform tokens (Fernet: AES-128-CBC with an HMAC)."""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken

from briefcast.settings import Settings, get_settings

# Development only: a key derived from a fixed phrase, so a fresh checkout works. Production
# refuses to start without CREDENTIALS_KEY (see Settings).
_DEV_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"briefcast development key").digest())


class TokenCipher:
    def __init__(self, key: bytes):
        self._fernet = Fernet(key)

    def encrypt(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("the stored token cannot be decrypted with this key") from exc


def cipher(settings: Settings | None = None) -> TokenCipher:
    settings = settings or get_settings()
    key = settings.credentials_key
    return _cipher(key.get_secret_value().encode() if key else _DEV_KEY)


@lru_cache(maxsize=2)
def _cipher(key: bytes) -> TokenCipher:
    return TokenCipher(key)
