"""intake's own commands, besides the shared ones (serve, `migrate`, `keys`): `rekey`."""

from __future__ import annotations

import argparse
import asyncio

from bancheng_shared.db import make_engine, make_sessionmaker
from intake_svc.adapters import rekey
from intake_svc.adapters.pii_vault import PiiKeyError, PiiVault, ring_from_settings
from intake_svc.settings import IntakeSettings


def rekey_command(argv: list[str], settings: IntakeSettings | None = None) -> int:
    """`rekey [--batch-size N]`: re-encrypt every stored ciphertext under the ring's first key; prints the counts.
    Exit 0 when everything is now under the first key, 1 when some value could not be read (its key is missing)."""
    parser = argparse.ArgumentParser(prog="python -m intake_svc rekey",
                                     description="Re-encrypt stored PII and secrets under the first key of the ring.")
    parser.add_argument("--batch-size", type=int, default=500, help="rows per transaction (default 500)")
    args = parser.parse_args(argv)
    settings = settings or IntakeSettings()
    ring, ephemeral = ring_from_settings(settings.model_copy(update={"pii_ephemeral_key_allowed": False}))
    if ephemeral:  # not reached: refused above
        raise PiiKeyError("rekey needs a configured key ring")
    vault = PiiVault(ring, settings.pii_cipher)

    async def run() -> dict[str, rekey.Counts]:
        engine = make_engine(settings.database_url, sqlite_inline=settings.sqlite_inline)
        try:
            return await rekey.rekey(make_sessionmaker(engine), vault, batch=max(1, args.batch_size))
        finally:
            await engine.dispose()

    counts = asyncio.run(run())
    print(f"rekey: encrypting key {vault.key_id!r}, cipher {vault.cipher}; ring: {', '.join(vault.key_ids)}")
    print(f"{'column':28} {'scanned':>8} {'rewritten':>9} {'current':>8} {'changed':>8} {'unreadable':>10}  "
          "keys before")
    for name, c in counts.items():
        keys = ", ".join(f"{k}: {n}" for k, n in sorted(c.by_key.items())) or "-"
        print(f"{name:28} {c.scanned:>8} {c.rewritten:>9} {c.current:>8} {c.changed_meanwhile:>8} "
              f"{c.unreadable:>10}  {keys}")
    total = rekey.Counts()
    for c in counts.values():
        total.scanned += c.scanned
        total.rewritten += c.rewritten
        total.current += c.current
        total.changed_meanwhile += c.changed_meanwhile
        total.unreadable += c.unreadable
    print(f"{'total':28} {total.scanned:>8} {total.rewritten:>9} {total.current:>8} {total.changed_meanwhile:>8} "
          f"{total.unreadable:>10}")
    if total.changed_meanwhile:
        print("some rows changed while this ran: run rekey again")
    if total.unreadable:
        print("some values could not be read with this ring (their key is missing): they were left as they are")
        return 1
    return 0
