"""Encryption at rest for health details (hospital ward, notes): Fernet with the union's key.

Every column or draft field sealed with FieldCipher is listed in storage/sealed.py, so that
`nuanjing secret-key rotate` re-encrypts it; storage/keycheck.py keeps the key's check value.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken


class CipherError(Exception):
    """The key is malformed, or a stored value was not encrypted with it."""


class FieldCipher:
    """Encrypts and decrypts single text fields; empty text stays empty."""

    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.encode())
        except (ValueError, TypeError) as exc:
            raise CipherError("the key must be 32 url-safe base64-encoded bytes") from exc

    @staticmethod
    def generate_key() -> str:
        """A fresh random key, in the form NUANJING_SECRET_KEY takes."""
        return Fernet.generate_key().decode()

    def encrypt(self, text: str) -> str:
        """Ciphertext of the text (a different one each time)."""
        return self._fernet.encrypt(text.encode()).decode() if text else ""

    def decrypt(self, token: str) -> str:
        """The text back from its ciphertext."""
        if not token:
            return ""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise CipherError("stored value does not match the secret key") from exc

    def reencrypt(self, token: str, new: FieldCipher) -> str:
        """The same text sealed with the new cipher's key; empty stays empty.

        CipherError when the token was not made with this cipher's key.
        """
        return new.encrypt(self.decrypt(token))
