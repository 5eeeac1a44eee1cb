"""Work orders and their log in the database: prebuilt statements, loaded as `WorkOrder`, saved from an outcome."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.db import insert_rows, is_postgres, keys_found, update_statement
from triage_svc.adapters.caches import STAMP_COLUMNS, Stamps, as_stamps
from triage_svc.adapters.tables import work_order_log, work_orders
from triage_svc.domain.work_order import LogLine, Outcome, WorkOrder

# built once: every call only brings parameters
_ROW = select(work_orders).where(work_orders.c.ticket_no == bindparam("ticket_no"))
_ROW_LOCKED = _ROW.with_for_update()
# a received ticket asks whether it already has a work order and reads the stamps in the same round trip
_RECEIVED = select(
    select(work_orders.c.ticket_no).where(work_orders.c.ticket_no == bindparam("ticket_no")).scalar_subquery()
    .label("known"), *STAMP_COLUMNS)
_KNOWN = {pg: keys_found(select(work_orders.c.ticket_no), work_orders.c.ticket_no, "ticket_nos", pg)
          for pg in (False, True)}
_INSERT_WORK_ORDER = insert(work_orders)
_INSERT_LOG = insert(work_order_log)


class WorkOrders:
    """The work orders of one transaction."""

    __slots__ = ("session",)

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def received(self, ticket_no: str) -> tuple[bool, Stamps]:
        """Whether the ticket already has a work order (a replayed copy), and the caches' stamps."""
        found = (await self.session.execute(_RECEIVED, {"ticket_no": ticket_no})).one()
        return found.known is not None, as_stamps(found)

    async def known(self, ticket_nos: list[str]) -> set[str]:
        """Which of these tickets already have a work order (one statement)."""
        rows = await self.session.execute(_KNOWN[is_postgres(self.session)], {"ticket_nos": ticket_nos})
        return set(rows.scalars())

    async def add_many(self, new: list[tuple[WorkOrder, LogLine]], at: datetime) -> None:
        """Store new work orders and their first log lines: one multi-row insert per table (see insert_rows)."""
        # empty columns are left out (as in add)
        await insert_rows(self.session, _INSERT_WORK_ORDER,
                          [{k: v for k, v in vars(wo).items() if v is not None} for wo, _ in new])
        await self.session.execute(_INSERT_LOG, [self._log_row(wo.ticket_no, line, at) for wo, line in new])

    async def get(self, ticket_no: str, *, lock: bool = False) -> WorkOrder | None:
        """The work order of a ticket (locked for the transaction with `lock` on PostgreSQL), or None."""
        row = (await self.session.execute(_ROW_LOCKED if lock else _ROW, {"ticket_no": ticket_no})).first()
        return WorkOrder(**row._mapping) if row is not None else None

    async def add(self, wo: WorkOrder, line: LogLine, at: datetime) -> None:
        """Store a new work order and its first log line."""
        # empty columns are left out: a JSON column given None would hold JSON null, not NULL
        await self.session.execute(_INSERT_WORK_ORDER, {k: v for k, v in vars(wo).items() if v is not None})
        await self.log(wo.ticket_no, line, at)

    async def save(self, ticket_no: str, outcome: Outcome, at: datetime) -> None:
        """Apply an outcome's column changes and its log line."""
        if outcome.changes:
            await self.update(ticket_no, outcome.changes)
        if outcome.log is not None:
            await self.log(ticket_no, outcome.log, at)

    async def update(self, ticket_no: str, values: dict[str, Any]) -> None:
        """Set some columns of a work order."""
        await self.session.execute(update_statement(work_orders, sorted(values), ["ticket_no"]),
                                   {**values, "k_ticket_no": ticket_no})

    async def log(self, ticket_no: str, line: LogLine, at: datetime) -> None:
        """Add a line to a work order's log."""
        await self.session.execute(_INSERT_LOG, self._log_row(ticket_no, line, at))

    @staticmethod
    def _log_row(ticket_no: str, line: LogLine, at: datetime) -> dict[str, Any]:
        return {"ticket_no": ticket_no, "at": at, "action": line.action, "actor": line.actor, "round": line.round,
                "from_state": line.from_state, "to_state": line.to_state, "detail": line.detail}
