"""The PII key ring: kept keys survive restarts, rotation (old keys decrypt, the first encrypts, `rekey` moves
stored values to it), a start without a key is refused, SM4-GCM with HMAC-SM3 for 密评 deployments."""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from intake_helpers import ticket
from sqlalchemy import select

from bancheng_services.testing import Databases, RunningService, auth, run_service
from intake_svc.adapters import rekey
from intake_svc.adapters.pii_vault import (
    SM4,
    PiiKey,
    PiiKeyError,
    PiiVault,
    new_key_line,
    parse_keys,
    ring_from_settings,
)
from intake_svc.adapters.tables import metadata, repeats, submissions, tickets
from intake_svc.cli import rekey_command
from intake_svc.settings import IntakeSettings

K1 = PiiKey("k1", bytes(range(32)))
K2 = PiiKey("k2", bytes(range(32, 64)))


def _line(key: PiiKey) -> str:
    return f"{key.key_id}:{base64.urlsafe_b64encode(key.material).decode()}"


def _key_file(tmp_path: Path, *keys: PiiKey) -> str:
    path = tmp_path / "intake-pii.keys"
    path.write_text("".join(_line(k) + "\n" for k in keys))
    os.chmod(path, 0o600)
    return str(path)


# ------------------------------------------------------------------ the vault (no service)


def test_the_first_key_encrypts_every_key_decrypts_and_values_name_their_key() -> None:
    old = PiiVault([K1])
    token = old.encrypt("13800138000", "phone")
    assert token is not None and token.startswith("aes:k1:") and "13800138000" not in token
    rotated = PiiVault([K2, K1])
    assert rotated.decrypt(token, "phone") == "13800138000"
    fresh = rotated.encrypt("13800138000", "phone")
    assert fresh is not None and fresh.startswith("aes:k2:") and rotated.key_of(fresh) == "k2"
    assert not rotated.is_current(token) and rotated.is_current(fresh)
    with pytest.raises(PiiKeyError, match="'k2'"):
        old.decrypt(fresh, "phone")  # a ring without k2 names the missing key
    with pytest.raises(InvalidTag):
        rotated.decrypt(token, "id")  # still bound to its field
    # keyed hashes: under the first key, and under every key for lookups while rotating
    assert rotated.hash("13800138000", "phone") != old.hash("13800138000", "phone")
    assert rotated.hashes("13800138000", "phone") == (rotated.hash("13800138000", "phone"),
                                                     old.hash("13800138000", "phone"))
    assert old.hashes("13800138000", "phone") == (old.hash("13800138000", "phone"),)


def test_values_written_before_the_ring_stay_readable_under_the_legacy_passphrase() -> None:
    legacy = PiiVault("test-pii-key-0123456789abcdef")  # the older INTAKE_PII_KEY, one key
    ring = PiiVault([K1, PiiKey("legacy", b"test-pii-key-0123456789abcdef", legacy=True)])
    # the format and the hash of before the ring (no prefix): written by the old code with this passphrase
    import hashlib

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    raw = b"test-pii-key-0123456789abcdef"
    nonce = b"\x01" * 12
    old_token = base64.b64encode(nonce + AESGCM(hashlib.sha256(b"bancheng-pii-enc|" + raw).digest())
                                 .encrypt(nonce, b"13800138000", b"phone")).decode()
    assert legacy.decrypt(old_token, "phone") == ring.decrypt(old_token, "phone") == "13800138000"
    import hmac as std_hmac
    old_hash = std_hmac.new(hashlib.sha256(b"bancheng-pii-mac|" + raw).digest(), b"phone:13800138000",
                            "sha256").hexdigest()
    assert legacy.hash("13800138000", "phone") == old_hash
    assert old_hash in ring.hashes("13800138000", "phone")


def test_sm4_gcm_round_trip_with_hmac_sm3_hashes() -> None:
    v = PiiVault([K1], SM4)
    token = v.encrypt("11010519491231002X", "id")
    assert token is not None and token.startswith("sm4:k1:")
    assert v.decrypt(token, "id") == "11010519491231002X"
    with pytest.raises(InvalidTag):
        v.decrypt(token, "phone")
    h = v.hash("11010519491231002X", "id")
    assert h is not None and len(h) == 64 and h != PiiVault([K1]).hash("11010519491231002X", "id")
    # a ring switched to SM4 still reads what AES-GCM wrote (the value names its cipher), and the reverse
    aes_token = PiiVault([K1]).encrypt("13800138000", "phone")
    assert v.decrypt(aes_token, "phone") == "13800138000"
    assert PiiVault([K1]).decrypt(token, "id") == "11010519491231002X"


def test_key_lines_are_checked_and_never_echoed() -> None:
    assert [k.key_id for k in parse_keys(f"# ring\n{_line(K2)}\n\n{_line(K1)}\n", where="f")] == ["k2", "k1"]
    assert [k.key_id for k in parse_keys(f"{_line(K2)},{_line(K1)}", where="env")] == ["k2", "k1"]
    short = "k3:" + base64.urlsafe_b64encode(b"x" * 16).decode()
    for bad, msg in ((short, "16 bytes"), ("no-colon", "expected"), ("bad id!:AAAA", "expected"),
                     ("legacy:" + _line(K1).split(":")[1], "reserved"), ("k4:***", "base64")):
        with pytest.raises(PiiKeyError, match=msg) as err:
            parse_keys(bad, where="INTAKE_PII_KEYS")
        assert bad.split(":")[-1] not in str(err.value) or bad.split(":")[-1] in ("", "no-colon")
    assert new_key_line("k9").startswith("k9:") and len(parse_keys(new_key_line("k9"), where="x")[0].material) == 32


def test_the_ring_from_settings_and_a_start_without_a_key_is_refused(tmp_path: Path) -> None:
    path = _key_file(tmp_path, K2, K1)
    ring, ephemeral = ring_from_settings(IntakeSettings(pii_key_file=path, pii_key="old-passphrase"))
    assert [k.key_id for k in ring] == ["k2", "k1", "legacy"] and not ephemeral
    ring, _ = ring_from_settings(IntakeSettings(pii_keys=f"{_line(K1)}", pii_key_file=path))
    assert [k.key_id for k in ring] == ["k1", "k2"]
    with pytest.raises(PiiKeyError, match="different secrets"):
        ring_from_settings(IntakeSettings(pii_keys=f"k2:{base64.urlsafe_b64encode(b'z' * 32).decode()}",
                                          pii_key_file=path))
    with pytest.raises(PiiKeyError, match="cannot be read"):
        ring_from_settings(IntakeSettings(pii_key_file=str(tmp_path / "missing")))
    with pytest.raises(PiiKeyError, match="no PII key is configured"):
        ring_from_settings(IntakeSettings())
    ring, ephemeral = ring_from_settings(IntakeSettings(pii_ephemeral_key_allowed=True))
    assert ephemeral and ring[0].key_id.startswith("ephemeral-")


def test_the_service_refuses_to_start_without_a_key() -> None:
    from intake_svc.main import create_app

    with pytest.raises(PiiKeyError, match="INTAKE_PII_KEY_FILE"):
        create_app(IntakeSettings(database_url="sqlite+aiosqlite:///:memory:"))


def test_every_encrypted_column_is_rekeyed() -> None:
    covered = {(c.table.name, c.column) for c in rekey.COLUMNS}
    stored = {(t.name, c.name) for t in metadata.tables.values() for c in t.columns if c.name.endswith("_enc")}
    assert stored <= covered, f"add to adapters.rekey.COLUMNS: {sorted(stored - covered)}"


# ------------------------------------------------------------------ the service on both databases


@asynccontextmanager
async def _intake(url: str, kafka_bootstrap: str, topic_prefix: str, **keys: Any) -> AsyncIterator[RunningService]:
    async with run_service("intake", database_url=url, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix,
                           **keys) as svc:
        yield svc


async def test_a_restart_with_the_same_key_file_reads_everything_it_wrote(
        databases: Databases, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path) -> None:
    url = await databases.new("intake")
    keys = {"pii_key_file": _key_file(tmp_path, K1)}
    body = ticket("东湖区某路口井盖缺失，存在安全隐患", "13800138000")
    h = {**auth("operator"), "Idempotency-Key": "retry-1"}
    async with _intake(url, kafka_bootstrap, topic_prefix, **keys) as svc:
        first = await svc.client.post("/v1/tickets", json=body, headers=h)
        assert first.status_code == 201
        before = (await svc.client.get(f"/v1/tickets/{first.json()['ticket_no']}", headers=auth("operator"))).json()
    no, token = first.json()["ticket_no"], first.json()["tracking_token"]
    async with _intake(url, kafka_bootstrap, topic_prefix, **keys) as svc:
        c = svc.client
        # the staff view and its PII
        after = (await c.get(f"/v1/tickets/{no}", headers=auth("operator"))).json()
        assert after["complainant"] == before["complainant"] and after["complainant"]["phone"] == "13800138000"
        # the public lookup, by the phone's last four and by the token
        assert (await c.get(f"/v1/public/tickets/{no}", params={"phone_last4": "8000"})).status_code == 200
        assert (await c.get(f"/v1/public/track/{token}")).status_code == 200
        # a caller retrying with the same Idempotency-Key gets the first answer, token included
        again = await c.post("/v1/tickets", json=body, headers=h)
        assert again.status_code == 200, again.text
        assert {k: v for k, v in again.json().items() if k != "replayed"} == \
            {k: v for k, v in first.json().items() if k != "replayed"}
        # the same person again: still merged into the open ticket
        same = await c.post("/v1/tickets", json=ticket("东湖区那个路口的井盖还是缺失，很危险", "13800138000",
                                                        region=None), headers=auth("operator"))
        assert same.json()["merged"] is True and same.json()["ticket_no"] == no


async def test_a_rotated_ring_reads_old_rows_and_rekey_moves_them_to_the_new_key(
        databases: Databases, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    url = await databases.new("intake")
    body = ticket("幸福小区门口的烧烤摊每晚油烟很大", "13900001111")
    async with _intake(url, kafka_bootstrap, topic_prefix, pii_key_file=_key_file(tmp_path, K1)) as svc:
        first = (await svc.client.post("/v1/tickets", json=body, headers=auth("operator"))).json()
        # a repeat by the same person: its phone is stored with the repeat too
        await svc.client.post("/v1/tickets", json=ticket("幸福小区门口烧烤摊每晚油烟很大，还没人管", "13900001111"),
                              headers=auth("operator"))
    no = first["ticket_no"]
    ring = _key_file(tmp_path, K2, K1)  # rotation: the new key on top, the old one below
    async with _intake(url, kafka_bootstrap, topic_prefix, pii_key_file=ring) as svc:
        view = (await svc.client.get(f"/v1/tickets/{no}", headers=auth("operator"))).json()
        assert view["complainant"]["phone"] == "13900001111" and view["repeats"][0]["phone"] == "13900001111"
        # before rekey: the same person still merges (hashes under every key are asked for)
        r = await svc.client.post("/v1/tickets", json=ticket("幸福小区门口那个烧烤摊油烟还是很大", "13900001111",
                                                              region=None), headers=auth("operator"))
        assert r.json()["merged"] is True and r.json()["ticket_no"] == no
        new_no = (await svc.client.post("/v1/tickets", json=ticket("学府路路灯不亮", "13700002222", region=None),
                                        headers=auth("operator"))).json()["ticket_no"]
    settings = IntakeSettings(database_url=url, pii_key_file=ring)
    assert await asyncio.to_thread(rekey_command, ["--batch-size", "2"], settings) == 0
    out = capsys.readouterr().out
    assert "tickets.phone_enc" in out and "k1: 1" in out
    sm_url = url
    from bancheng_shared.db import make_engine, make_sessionmaker
    engine = make_engine(sm_url)
    try:
        async with make_sessionmaker(engine)() as s:
            enc = [*(await s.execute(select(tickets.c.name_enc, tickets.c.phone_enc, tickets.c.id_enc))).all(),
                   *(await s.execute(select(repeats.c.phone_enc))).all(),
                   *(await s.execute(select(submissions.c.token_enc))).all()]
    finally:
        await engine.dispose()
    values = [v for row in enc for v in row if v is not None]
    assert values and all(v.startswith("aes:k2:") for v in values)
    # a second run has nothing left to do
    assert await asyncio.to_thread(rekey_command, [], settings) == 0
    assert " 0 " in capsys.readouterr().out.splitlines()[-1]
    # the old key can go: a ring of the new key alone reads everything, hashes included
    async with _intake(url, kafka_bootstrap, topic_prefix, pii_key_file=_key_file(tmp_path, K2)) as svc:
        for n, phone in ((no, "13900001111"), (new_no, "13700002222")):
            view = (await svc.client.get(f"/v1/tickets/{n}", headers=auth("operator"))).json()
            assert view["complainant"]["phone"] == phone
        r = await svc.client.post("/v1/tickets", json=ticket("幸福小区门口烧烤摊油烟太大了，请尽快处理", "13900001111",
                                                              region=None), headers=auth("operator"))
        assert r.json()["merged"] is True and r.json()["ticket_no"] == no
        assert (await svc.client.get(f"/v1/public/tickets/{no}", params={"phone_last4": "1111"})).status_code == 200


async def test_sm4_service_round_trip(databases: Databases, kafka_bootstrap: str, topic_prefix: str,
                                      tmp_path: Path) -> None:
    url = await databases.new("intake")
    keys = {"pii_keys": _line(K1), "pii_cipher": SM4}
    async with _intake(url, kafka_bootstrap, topic_prefix, **keys) as svc:
        no = (await svc.client.post("/v1/tickets", json=ticket("噪音扰民", "13600003333"),
                                    headers=auth("operator"))).json()["ticket_no"]
    async with _intake(url, kafka_bootstrap, topic_prefix, **keys) as svc:
        view = (await svc.client.get(f"/v1/tickets/{no}", headers=auth("operator"))).json()
        assert view["complainant"]["phone"] == "13600003333"
        async with svc.runtime.sm() as s:
            stored = (await s.execute(select(tickets.c.phone_enc).where(tickets.c.ticket_no == no))).scalar_one()
        assert stored.startswith("sm4:k1:")


async def test_a_stored_value_the_ring_cannot_read_answers_a_problem_not_a_reset(
        databases: Databases, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path) -> None:
    # the bench's old failure: a database kept from an earlier run, read under a fresh key with the same id
    url = await databases.new("intake")
    body = ticket("东湖区某路口井盖缺失，存在安全隐患", "13800138000")
    h = {**auth("operator"), "Idempotency-Key": "retry-unreadable"}
    async with _intake(url, kafka_bootstrap, topic_prefix, pii_key_file=_key_file(tmp_path, K1)) as svc:
        assert (await svc.client.post("/v1/tickets", json=body, headers=h)).status_code == 201
    other = tmp_path / "other"
    other.mkdir()
    wrong = PiiKey("k1", bytes(range(64, 96)))
    async with _intake(url, kafka_bootstrap, topic_prefix, pii_key_file=_key_file(other, wrong)) as svc:
        again = await svc.client.post("/v1/tickets", json=body, headers=h)
        assert again.status_code == 500 and again.headers["content-type"].startswith("application/problem+json")
        assert again.json()["type"].endswith("/pii-unreadable") and "PII keys" in again.json()["detail"]
        assert (await svc.client.get("/healthz")).status_code == 200  # the service goes on answering
