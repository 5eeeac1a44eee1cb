"""Complainant PII at rest: authenticated encryption and keyed hashes for matching repeats, under a key ring.

The ring comes from settings (`INTAKE_PII_KEYS`, `INTAKE_PII_KEY_FILE`: lines `<key id>:<urlsafe base64 of 32
random bytes>`; the older `INTAKE_PII_KEY` passphrase stays readable as the key `legacy`). The first key encrypts,
every key decrypts: a ciphertext names its cipher and its key (`aes:<key id>:<base64>`; the older format without a
prefix is the legacy key's), so a key is rotated by putting a new line on top and running
`python -m intake_svc rekey`, which re-encrypts every stored value under the first key (adapters.rekey).

Ciphers: AES-256-GCM with HMAC-SHA256 hashes (default), or SM4-GCM with HMAC-SM3 hashes (`INTAKE_PII_CIPHER=sm4-gcm`,
for deployments assessed under the commercial-cryptography rules, 密评). Keyed hashes do not name their key: a lookup
asks for the hashes under every key of the ring (`hashes`), so repeats still match while a rotation is under way.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import structlog
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

if TYPE_CHECKING:
    from intake_svc.settings import IntakeSettings

log = structlog.get_logger("intake")

AES = "aes-256-gcm"
SM4 = "sm4-gcm"
CIPHERS = (AES, SM4)
_TAGS = {AES: "aes", SM4: "sm4"}
_CIPHER_OF_TAG = {tag: name for name, tag in _TAGS.items()}
LEGACY_KEY_ID = "legacy"  # the key derived from the older INTAKE_PII_KEY passphrase
KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
_NONCE = 12


class PiiKeyError(ValueError):
    """The PII key configuration is missing or malformed, or a stored value names a key the ring lacks."""


@dataclass(frozen=True, repr=False)
class PiiKey:
    """One key of the ring: its id and its secret (32 random bytes; the legacy passphrase's bytes)."""

    key_id: str
    material: bytes
    legacy: bool = False

    def __repr__(self) -> str:
        return f"PiiKey({self.key_id!r})"  # never the secret


def parse_keys(text: str, *, where: str) -> list[PiiKey]:
    """Key lines `<key id>:<urlsafe base64 of 32 bytes>`, one a line or comma-separated; blank lines and `#`
    comments are skipped. Errors name the line, never the secret."""
    keys: list[PiiKey] = []
    for n, raw in enumerate(re.split(r"[,\n]", text), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key_id, sep, b64 = line.partition(":")
        key_id = key_id.strip()
        if not sep or not KEY_ID.match(key_id):
            raise PiiKeyError(f"{where}, entry {n}: expected '<key id>:<base64 of 32 bytes>' with a key id of "
                              "letters, digits, '_', '.' or '-' (at most 40)")
        if key_id == LEGACY_KEY_ID:
            raise PiiKeyError(f"{where}, entry {n}: the key id {LEGACY_KEY_ID!r} is reserved for INTAKE_PII_KEY")
        b64 = b64.strip()
        try:
            material = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
        except (binascii.Error, ValueError) as exc:
            raise PiiKeyError(f"{where}, key {key_id!r}: not urlsafe base64") from exc
        if len(material) != 32:
            raise PiiKeyError(f"{where}, key {key_id!r}: {len(material)} bytes; a key is 32 random bytes "
                              "(e.g. python -c \"import base64,os; print(base64.urlsafe_b64encode(os.urandom(32))"
                              ".decode())\")")
        keys.append(PiiKey(key_id, material))
    return keys


def new_key_line(key_id: str) -> str:
    """A fresh key line for a ring (what `./dev up` writes once)."""
    return f"{key_id}:{base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}"


def _read_key_file(path: str) -> str:
    p = Path(path)
    try:
        text = p.read_text("utf-8")
        mode = p.stat().st_mode
    except OSError as exc:
        raise PiiKeyError(f"INTAKE_PII_KEY_FILE {path}: cannot be read ({exc.strerror})") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("pii_key_file_permissions", path=path, mode=oct(mode & 0o777),
                    detail="the PII key file is readable by others; make it 0600")
    return text


def ring_from_settings(settings: IntakeSettings) -> tuple[list[PiiKey], bool]:
    """The configured ring (first key encrypts) and whether it is an ephemeral development key.

    Order: INTAKE_PII_KEYS, then INTAKE_PII_KEY_FILE, then the legacy INTAKE_PII_KEY passphrase (decrypt-only unless
    it is the only key). Nothing configured: refused (PiiKeyError) unless INTAKE_PII_EPHEMERAL_KEY_ALLOWED.
    """
    keys = parse_keys(settings.pii_keys, where="INTAKE_PII_KEYS") if settings.pii_keys.strip() else []
    if settings.pii_key_file:
        keys += parse_keys(_read_key_file(settings.pii_key_file), where=f"INTAKE_PII_KEY_FILE {settings.pii_key_file}")
    if settings.pii_key:
        keys.append(PiiKey(LEGACY_KEY_ID, settings.pii_key.encode(), legacy=True))
    seen: dict[str, bytes] = {}
    ring: list[PiiKey] = []
    for k in keys:
        if k.key_id in seen:
            if seen[k.key_id] != k.material:
                raise PiiKeyError(f"PII key id {k.key_id!r} is given twice with different secrets")
            continue
        seen[k.key_id] = k.material
        ring.append(k)
    if ring:
        return ring, False
    if not settings.pii_ephemeral_key_allowed:
        raise PiiKeyError(
            "no PII key is configured: set INTAKE_PII_KEY_FILE (a file of lines '<key id>:<base64 of 32 random "
            "bytes>', mode 0600) or INTAKE_PII_KEYS; without a kept key, complainant data written now cannot be "
            "read after a restart. For development only, INTAKE_PII_EPHEMERAL_KEY_ALLOWED=true uses a random key "
            "per process.")
    log.warning("pii_key_ephemeral", detail="no PII key configured; using a random key for this process only "
                "(INTAKE_PII_EPHEMERAL_KEY_ALLOWED): encrypted PII will not be readable after a restart")
    return [PiiKey(f"ephemeral-{secrets.token_hex(4)}", secrets.token_bytes(32))], True


def _hmac_sm3(key: bytes, data: bytes) -> bytes:
    h = crypto_hmac.HMAC(key, hashes.SM3())
    h.update(data)
    return h.finalize()


class _Aead(Protocol):
    def encrypt(self, nonce: bytes, data: bytes, aad: bytes) -> bytes: ...

    def decrypt(self, nonce: bytes, data: bytes, aad: bytes) -> bytes: ...


class _Sm4Gcm:
    """SM4 in GCM mode with the AESGCM calling convention (ciphertext followed by its 16-byte tag)."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def encrypt(self, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        enc = Cipher(algorithms.SM4(self._key), modes.GCM(nonce)).encryptor()
        enc.authenticate_additional_data(aad)
        ct = enc.update(data) + enc.finalize()
        return ct + enc.tag

    def decrypt(self, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        dec = Cipher(algorithms.SM4(self._key), modes.GCM(nonce, data[-16:])).decryptor()
        dec.authenticate_additional_data(aad)
        return dec.update(data[:-16]) + dec.finalize()  # InvalidTag on a wrong key or a tampered value


class _KeyUse:
    """One key's derived secrets: an AEAD per cipher (made when first needed) and the hashing key."""

    def __init__(self, key: PiiKey, cipher: str) -> None:
        self.key = key
        self.cipher = cipher
        self._aeads: dict[str, _Aead] = {}
        raw = key.material
        if cipher == SM4:
            self.mac_key = _hmac_sm3(raw, b"bancheng-pii-mac|hmac-sm3")
        elif key.legacy:
            self.mac_key = hashlib.sha256(b"bancheng-pii-mac|" + raw).digest()  # as before the ring: hashes match
        else:
            self.mac_key = hmac.digest(raw, b"bancheng-pii-mac|hmac-sha256", "sha256")

    def aead(self, cipher: str) -> _Aead:
        found = self._aeads.get(cipher)
        if found is None:
            raw = self.key.material
            if cipher == SM4:
                found = _Sm4Gcm(_hmac_sm3(raw, b"bancheng-pii-enc|sm4-gcm")[:16])
            elif self.key.legacy:
                found = AESGCM(hashlib.sha256(b"bancheng-pii-enc|" + raw).digest())
            else:
                found = AESGCM(hmac.digest(raw, b"bancheng-pii-enc|aes-256-gcm", "sha256"))
            self._aeads[cipher] = found
        return found

    def hash(self, data: bytes) -> str:
        if self.cipher == SM4:
            return _hmac_sm3(self.mac_key, data).hex()
        # hmac.digest is the one-shot C path: same value as hmac.new(...).hexdigest(), a fraction of the cost
        return hmac.digest(self.mac_key, data, "sha256").hex()


class PiiVault:
    """Encrypts and hashes PII under a key ring (from settings, never logged): the first key encrypts and hashes,
    every key decrypts. A bare string is a one-key ring of the older passphrase (`legacy`)."""

    def __init__(self, keys: str | Sequence[PiiKey], cipher: str = AES) -> None:
        if isinstance(keys, str):
            keys = [PiiKey(LEGACY_KEY_ID, keys.encode(), legacy=True)]
        if not keys:
            raise PiiKeyError("a PII vault needs at least one key")
        if cipher not in CIPHERS:
            raise PiiKeyError(f"INTAKE_PII_CIPHER {cipher!r}: use one of {', '.join(CIPHERS)}")
        self.cipher = cipher
        self._uses = {k.key_id: _KeyUse(k, cipher) for k in keys}
        self._current = self._uses[keys[0].key_id]
        self._aead = self._current.aead(cipher)
        self._prefix = f"{_TAGS[cipher]}:{keys[0].key_id}:"
        self._several = len(keys) > 1

    @property
    def key_id(self) -> str:
        """The id of the key that encrypts."""
        return self._current.key.key_id

    @property
    def key_ids(self) -> list[str]:
        """Every key of the ring, the encrypting one first."""
        return list(self._uses)

    def encrypt(self, value: str | None, context: str = "") -> str | None:
        """`<cipher>:<key id>:<base64 of nonce + ciphertext>`; the context (e.g. the field name) is bound as
        associated data."""
        if value is None:
            return None
        nonce = os.urandom(_NONCE)
        ct = self._aead.encrypt(nonce, value.encode(), context.encode())
        return self._prefix + base64.b64encode(nonce + ct).decode()

    def decrypt(self, token: str | None, context: str = "") -> str | None:
        """The plaintext of `encrypt` under any key of the ring (raises on an unknown key, a wrong key or a tampered
        value)."""
        if token is None:
            return None
        tag, key_id, data = self._parts(token)
        use = self._uses.get(key_id)
        if use is None:
            raise PiiKeyError(f"a stored value was encrypted with PII key {key_id!r}, which is not in the ring "
                              f"({', '.join(self._uses)}); add that key's line back")
        raw = base64.b64decode(data)
        return use.aead(_CIPHER_OF_TAG[tag]).decrypt(raw[:_NONCE], raw[_NONCE:], context.encode()).decode()

    def is_current(self, token: str | None) -> bool:
        """The value is encrypted with the first key and the configured cipher (nothing for rekey to do)."""
        return token is None or token.startswith(self._prefix)

    def key_of(self, token: str) -> str:
        """The key id a stored value names."""
        return self._parts(token)[1]

    @staticmethod
    def _parts(token: str) -> tuple[str, str, str]:
        if ":" not in token:
            return "aes", LEGACY_KEY_ID, token  # written before the ring: the passphrase's key, AES-GCM
        tag, key_id, data = token.split(":", 2)
        if tag not in _CIPHER_OF_TAG:
            raise PiiKeyError(f"a stored value names an unknown cipher {tag!r}")
        return tag, key_id, data

    def hash(self, value: str | None, kind: str) -> str | None:
        """A keyed hash (HMAC-SHA256, or HMAC-SM3 with SM4) under the first key for matching without decrypting."""
        if value is None:
            return None
        return self._current.hash(f"{kind}:{value}".encode())

    def hashes(self, value: str | None, kind: str) -> tuple[str, ...]:
        """The keyed hash under every key of the ring (the first key's first): what a lookup asks for while a
        rotation is under way."""
        if value is None:
            return ()
        data = f"{kind}:{value}".encode()
        if not self._several:
            return (self._current.hash(data),)
        return tuple(use.hash(data) for use in self._uses.values())


def vault_from_settings(settings: IntakeSettings) -> PiiVault:
    """The vault of the configured ring and cipher (PiiKeyError when none is configured and ephemeral keys are not
    allowed: the service refuses to start)."""
    ring, _ephemeral = ring_from_settings(settings)
    return PiiVault(ring, settings.pii_cipher)
