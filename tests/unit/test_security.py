"""Platform tokens at rest: encrypted, different every time, and only readable with the key."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from briefcast.security import TokenCipher


def test_a_token_round_trips_and_never_appears_in_the_ciphertext() -> None:
    cipher = TokenCipher(Fernet.generate_key())
    sealed = cipher.encrypt("IGQVJ-secret-token")
    assert "IGQVJ" not in sealed and "secret" not in sealed
    assert cipher.encrypt("IGQVJ-secret-token") != sealed  # a fresh IV every time
    assert cipher.decrypt(sealed) == "IGQVJ-secret-token"


def test_another_key_cannot_read_it() -> None:
    sealed = TokenCipher(Fernet.generate_key()).encrypt("token")
    with pytest.raises(ValueError, match="cannot be decrypted"):
        TokenCipher(Fernet.generate_key()).decrypt(sealed)
