"""`python -m intake_svc rekey`: every stored ciphertext re-encrypted under the ring's first key (and the configured
cipher), every keyed hash recomputed under it (and filled where missing: the name hashes of tickets stored before
search); in batches, each its own transaction; safe to run again (what is
current is left alone) and while the service runs (a row changed meanwhile is left for the next run).

After it reports nothing left under an older key, that key's line can be removed from the ring.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from intake_svc.adapters.pii_vault import PiiVault
from intake_svc.adapters.tables import (
    platforms,
    repeats,
    sms_outbox,
    submissions,
    subscriptions,
    tickets,
    unit_contacts,
)
from intake_svc.domain.search import normalize_name


@dataclass(frozen=True)
class Encrypted:
    """A column of ciphertexts: its table, key column, the context it is bound to, and the keyed hash kept with
    it (if any)."""

    table: Table
    key: str
    column: str
    context: str
    hash_column: str | None = None
    hash_kind: str | None = None
    normalize: Callable[[str], str | None] | None = None  # what the hash is taken of (default: the value itself)

    @property
    def name(self) -> str:
        """table.column"""
        return f"{self.table.name}.{self.column}"


# Every encrypted column of intake (tests/test_keys.py checks that no `*_enc` column is missing here).
COLUMNS: tuple[Encrypted, ...] = (
    # a ticket stored before search had no name hash: rekey fills it (the backfill of migration f1c4a7d2b9e3)
    Encrypted(tickets, "ticket_no", "name_enc", "name", "name_hash", "name", normalize_name),
    Encrypted(tickets, "ticket_no", "phone_enc", "phone", "phone_hash", "phone"),
    Encrypted(tickets, "ticket_no", "id_enc", "id", "id_hash", "id"),
    Encrypted(repeats, "id", "phone_enc", "phone", "phone_hash", "phone"),
    Encrypted(repeats, "id", "body_enc", "request"),
    Encrypted(submissions, "id", "token_enc", "token"),
    Encrypted(sms_outbox, "id", "recipient_enc", "phone"),
    Encrypted(unit_contacts, "id", "phone_enc", "phone"),
    Encrypted(platforms, "name", "secret_enc", "platform"),
    Encrypted(subscriptions, "id", "secret_enc", "subscription"),
)


@dataclass
class Counts:
    """What a run did to one column."""

    scanned: int = 0
    rewritten: int = 0
    current: int = 0
    changed_meanwhile: int = 0
    unreadable: int = 0
    by_key: dict[str, int] = field(default_factory=dict)  # the keys the rows named before


async def _column(sm: async_sessionmaker[AsyncSession], vault: PiiVault, col: Encrypted, batch: int) -> Counts:
    t = col.table
    key, enc = t.c[col.key], t.c[col.column]
    hashed = t.c[col.hash_column] if col.hash_column else None
    counts = Counts()
    last: Any = None
    while True:
        q = select(key, enc, *([hashed] if hashed is not None else [])).where(enc.is_not(None))
        if last is not None:
            q = q.where(key > last)
        async with sm() as session, session.begin():
            rows = (await session.execute(q.order_by(key).limit(batch))).all()
            if not rows:
                return counts
            for row in rows:
                last = row[0]
                counts.scanned += 1
                token = row[1]
                try:
                    kid = vault.key_of(token)
                    plain = vault.decrypt(token, col.context)
                except Exception:
                    counts.unreadable += 1
                    continue
                counts.by_key[kid] = counts.by_key.get(kid, 0) + 1
                hashed_value = col.normalize(plain) if col.normalize and plain is not None else plain
                new_hash = vault.hash(hashed_value, col.hash_kind or "") if hashed is not None else None
                if vault.is_current(token) and (hashed is None or row[2] == new_hash):
                    counts.current += 1
                    continue
                values: dict[str, Any] = {col.column: vault.encrypt(plain, col.context)}
                if col.hash_column:
                    values[col.hash_column] = new_hash
                # compare-and-set: a value written meanwhile (by the service) is not overwritten
                done = await session.execute(update(t).where(and_(key == row[0], enc == token)).values(**values)
                                             .returning(key))
                if done.first() is not None:
                    counts.rewritten += 1
                else:
                    counts.changed_meanwhile += 1


async def rekey(sm: async_sessionmaker[AsyncSession], vault: PiiVault, *, batch: int = 500,
                columns: Sequence[Encrypted] = COLUMNS) -> dict[str, Counts]:
    """Re-encrypt every column under the vault's first key; the counts per column."""
    return {col.name: await _column(sm, vault, col, batch) for col in columns}
