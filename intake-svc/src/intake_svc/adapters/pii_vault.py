"""Complainant PII at rest: AES-GCM encryption and keyed hashes for matching repeats (domain.pii masks it)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

import structlog
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = structlog.get_logger("intake")


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


def vault_from_key(key: str) -> PiiVault:
    """The vault of the configured key; a missing key gets a per-process dev key and a warning."""
    if not key:
        # without a configured key, data encrypted now is unreadable after a restart: dev only
        key = secrets.token_urlsafe(32)
        log.warning("pii_key_unset", detail="INTAKE_PII_KEY is not set; using a random development key "
                    "(encrypted PII will not be readable after a restart)")
    return PiiVault(key)
