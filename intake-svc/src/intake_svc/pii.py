"""Complainant PII at rest: AES-GCM encryption, keyed hashes for matching repeats, masking (pure)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class PiiVault:
    """Encrypts and hashes PII with keys derived from one master key (from settings, never logged)."""

    def __init__(self, master_key: str) -> None:
        raw = master_key.encode()
        # separate keys for encryption and hashing, so one cannot be used to attack the other
        self._aead = AESGCM(hashlib.sha256(b"bancheng-pii-enc|" + raw).digest())
        self._mac_key = hashlib.sha256(b"bancheng-pii-mac|" + raw).digest()

    def encrypt(self, value: str | None, context: str = "") -> str | None:
        """Base64 of nonce + ciphertext; the context (e.g. the field name) is bound as associated data."""
        if value is None:
            return None
        nonce = os.urandom(12)
        ct = self._aead.encrypt(nonce, value.encode(), context.encode())
        return base64.b64encode(nonce + ct).decode()

    def decrypt(self, token: str | None, context: str = "") -> str | None:
        """The plaintext of `encrypt` (raises on a wrong key or tampered value)."""
        if token is None:
            return None
        raw = base64.b64decode(token)
        return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()

    def hash(self, value: str | None, kind: str) -> str | None:
        """A keyed hash (HMAC-SHA256) for matching without decrypting; None for None."""
        if value is None:
            return None
        # hmac.digest is the one-shot C path: same value as hmac.new(...).hexdigest(), a fraction of the cost
        return hmac.digest(self._mac_key, f"{kind}:{value}".encode(), "sha256").hex()


def mask_phone(phone: str | None) -> str | None:
    """138****5678: first three and last four digits."""
    if not phone:
        return phone
    return phone[:3] + "*" * max(0, len(phone) - 7) + phone[-4:] if len(phone) > 7 else "*" * len(phone)


def mask_id(idn: str | None) -> str | None:
    """3301**********123X: region prefix and last four."""
    if not idn:
        return idn
    return idn[:4] + "*" * (len(idn) - 8) + idn[-4:]


def mask_name(name: str | None) -> str | None:
    """张** : the family name only."""
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1 if len(name) > 1 else 1)
