"""A run of fact events written together: the rounds claimed and the open cases read once for the whole run, the
writes of every event gathered and run at the end, one statement per table and shape.

On PostgreSQL each statement is a round trip and a turn of the server: an event handled alone costs about ten
(the round claimed, the ticket, units, round and rollups written, the open cases read); a run of a hundred costs
about ten in all. What the gathered writes leave in the database is what the events' own handlers, one after the
other, would have left (see FactWrites).
"""

from __future__ import annotations

from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ARRAY, Integer, String, bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.db import is_postgres, keys_found, update_statement
from oversight_svc.adapters import facts
from oversight_svc.adapters.rollups import Rollups
from oversight_svc.adapters.tables import case_tickets, cases, copies, rounds, tickets, units
from oversight_svc.adapters.writes import Op, run, upsert_op
from oversight_svc.domain.metrics import Count

RoundKey = tuple[str, int]


def _claim_rounds() -> Any:
    # the rounds created where missing, locked and returned in one statement: the keys come as two arrays (one
    # statement whatever their number), sorted, so two runs sharing rounds lock them in the same order
    keys = select(func.unnest(bindparam("tickets", type_=ARRAY(String))).label("ticket_no"),
                  func.unnest(bindparam("rounds", type_=ARRAY(Integer))).label("round"))
    keys = select(keys.subquery()).order_by("ticket_no", "round")
    ins = pg_insert(rounds).from_select(["ticket_no", "round"], keys)
    return ins.on_conflict_do_update(index_elements=["ticket_no", "round"],
                                     set_={"round": ins.excluded.round}).returning(*rounds.c)


_CLAIM_ROUNDS = _claim_rounds()
_OPEN_CASE_TICKETS = {
    pg: keys_found(select(case_tickets.c.ticket_no).join(cases, cases.c.case_id == case_tickets.c.case_id)
                   .where(cases.c.state != "concluded"), case_tickets.c.ticket_no, "ticket_nos", pg)
    for pg in (True, False)
}


async def claim_rounds(session: AsyncSession, keys: Iterable[RoundKey]) -> dict[RoundKey, SimpleNamespace]:
    """The rounds of the keys (created empty where unknown, locked on PostgreSQL), as objects a run may change."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    if is_postgres(session):
        params = {"tickets": [t for t, _ in wanted], "rounds": [r for _, r in wanted]}
        found = (await session.execute(_CLAIM_ROUNDS, params)).all()
    else:  # inline SQLite: a statement costs no round trip
        found = [await facts.get_round(session, t, r) for t, r in wanted]
    return {(row.ticket_no, row.round): SimpleNamespace(**row._mapping) for row in found}


async def tickets_with_open_cases(session: AsyncSession, ticket_nos: Iterable[str]) -> set[str]:
    """Which of the tickets have a case that is not concluded."""
    nos = sorted(set(ticket_nos))
    if not nos:
        return set()
    q = _OPEN_CASE_TICKETS[is_postgres(session)]
    return set((await session.execute(q, {"ticket_nos": nos})).scalars())


class FactWrites:
    """The writes of a run's events, kept per row until `flush`.

    One after the other, the events' upserts of a ticket leave each column with its last value: kept merged per
    ticket. A unit named with its name, region and level leaves its last such row; one only added where unknown
    leaves the first, unless a named row comes. A round's columns set one after the other leave the last values.
    Rollup counts add up in any order. A copy (ticket, purpose, round) recorded twice keeps the first.

    Rows go out sorted by key, table after table in one order: two replicas writing runs that share units or
    rollups lock those rows in the same order and wait for each other instead of deadlocking.
    """

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Forget what was gathered (written, or rolled back)."""
        self.tickets: dict[str, dict[str, Any]] = {}
        self.named_units: dict[str, dict[str, Any]] = {}
        self.added_units: dict[str, dict[str, Any]] = {}
        self.rounds: dict[RoundKey, dict[str, Any]] = {}
        self.counts: list[Count] = []
        self.copies: dict[tuple[str, str, int], dict[str, Any]] = {}

    def ticket(self, ticket_no: str, **cols: Any) -> None:
        """Facts of a ticket (its row created if missing)."""
        self.tickets.setdefault(ticket_no, {"ticket_no": ticket_no}).update(cols)

    def unit(self, row: dict[str, Any], *, named: bool) -> None:
        """A unit: `named` rows set name, region and level; the others only add a unit nobody knows yet."""
        if named:
            self.named_units[row["unit"]] = row
            self.added_units.pop(row["unit"], None)
        elif row["unit"] not in self.named_units:
            self.added_units.setdefault(row["unit"], row)

    def round(self, key: RoundKey, r: SimpleNamespace, values: dict[str, Any]) -> None:
        """Set columns of a claimed round (and on its object, for the run's later events)."""
        for k, v in values.items():
            setattr(r, k, v)
        self.rounds.setdefault(key, {}).update(values)

    def copy(self, row: dict[str, Any]) -> None:
        """A tier copy, recorded once per ticket, purpose and round."""
        self.copies.setdefault((row["ticket_no"], row["purpose"], row["round"]), row)

    def count(self, counts: list[Count]) -> None:
        """Counts to add to the rollups."""
        self.counts.extend(counts)

    def ops(self, session: AsyncSession, rollups: Rollups) -> list[Op | None]:
        """The statements with their rows: one per table and shape."""
        ops: list[Op | None] = []
        for rows in _by_shape(self.tickets):
            ops.append(upsert_op(session, tickets, ["ticket_no"], rows))
        for rows in _by_shape(self.named_units):
            ops.append(upsert_op(session, units, ["unit"], rows))
        for rows in _by_shape(self.added_units):
            ops.append(upsert_op(session, units, ["unit"], rows, update=[]))
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for (ticket_no, rnd), values in sorted(self.rounds.items()):
            if values:
                shapes.setdefault(tuple(sorted(values)), []).append(
                    {**values, "k_ticket_no": ticket_no, "k_round": rnd})
        ops += [(update_statement(rounds, cols, ["ticket_no", "round"]), rows) for cols, rows in shapes.items()]
        ops.append(rollups.increment_op(session, self.counts))
        for rows in _by_shape(self.copies):
            ops.append(upsert_op(session, copies, ["ticket_no", "purpose", "round"], rows, update=[]))
        return ops

    async def flush(self, session: AsyncSession, rollups: Rollups) -> None:
        """Write what was gathered and start again."""
        ops = self.ops(session, rollups)
        self.clear()
        await run(session, ops)


def _by_shape(rows: dict[Any, dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows by their set of columns, each list in the order of the rows' keys."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for _key, row in sorted(rows.items()):
        shapes.setdefault(tuple(sorted(row)), []).append(row)
    return list(shapes.values())
