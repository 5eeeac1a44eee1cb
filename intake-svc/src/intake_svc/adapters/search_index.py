"""The search index: `ticket_search` rows kept in step with tickets and their repeats (in the writer's transaction),
and the conditions a search adds to a ticket list, per dialect (PostgreSQL: pg_trgm GIN, LIKE; SQLite: FTS5 trigram
MATCH, LIKE for terms too short for trigrams)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, insert, literal_column, select, table, text, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.db import is_postgres
from intake_svc.adapters.pii_vault import PiiVault
from intake_svc.adapters.tables import repeats, ticket_search, tickets
from intake_svc.domain.search import (
    TRIGRAM,
    SearchQuery,
    fts_phrase,
    like_pattern,
    normalize_name,
    normalize_text,
    phone_forms,
    search_text,
)


def name_hash(vault: PiiVault, name: str | None) -> str | None:
    """The keyed hash a ticket keeps of its person's normalised name (`tickets.name_hash`)."""
    return vault.hash(normalize_name(name), "name")


def row_of(ticket: dict[str, Any]) -> dict[str, Any]:
    """The search row of a ticket just created (no repeats yet)."""
    return {"ticket_no": ticket["ticket_no"], "body": search_text(ticket["title"], ticket["content"],
                                                                  ticket["address"]),
            "place": normalize_text(ticket["address"])}


async def refresh(session: AsyncSession, ticket_nos: Iterable[str]) -> None:
    """Rewrite the search rows of these tickets from their stored text and the repeats merged in now (after a
    merge or an unmerge), in the caller's transaction."""
    nos = sorted(set(ticket_nos))
    if not nos:
        return
    base = {r.ticket_no: r for r in (await session.execute(
        select(tickets.c.ticket_no, tickets.c.title, tickets.c.content, tickets.c.address)
        .where(tickets.c.ticket_no.in_(nos)))).all()}
    more: dict[str, list[str]] = {}
    for r in (await session.execute(
            select(repeats.c.ticket_no, repeats.c.content).where(repeats.c.ticket_no.in_(nos),
                                                                repeats.c.unmerged_into.is_(None))
            .order_by(repeats.c.ticket_no, repeats.c.seq))).all():
        more.setdefault(r.ticket_no, []).append(r.content)
    for no, t in base.items():
        body = search_text(t.title, t.content, t.address, *more.get(no, []))
        done = await session.execute(update(ticket_search).where(ticket_search.c.ticket_no == no)
                                     .values(body=body, place=normalize_text(t.address)))
        if getattr(done, "rowcount", 0) == 0:
            await session.execute(insert(ticket_search).values(ticket_no=no, body=body,
                                                               place=normalize_text(t.address)))


async def missing(session: AsyncSession, limit: int) -> list[str]:
    """Tickets without a search row yet (written before the index existed)."""
    q = (select(tickets.c.ticket_no).outerjoin(ticket_search, ticket_search.c.ticket_no == tickets.c.ticket_no)
         .where(ticket_search.c.id.is_(None)).order_by(tickets.c.ticket_no).limit(limit))
    return list((await session.execute(q)).scalars())


# ------------------------------------------------------------------ reading


class _Names:
    """Bind parameter names unique within one statement (FTS5 MATCH goes through `text`)."""

    def __init__(self) -> None:
        self.n = 0

    def next(self) -> str:
        self.n += 1
        return f"fts_{self.n}"


def _text_match(postgres: bool, column: str, terms: Sequence[str], names: _Names) -> Select[Any]:
    """The tickets whose `ticket_search.<column>` holds every term."""
    col = ticket_search.c[column]
    likes = [col.like(like_pattern(t), escape="\\") for t in terms if postgres or len(t) < TRIGRAM]
    long_terms = [] if postgres else [t for t in terms if len(t) >= TRIGRAM]
    conds: list[ColumnElement[bool]] = list(likes)
    if long_terms:
        name = names.next()
        expr = " AND ".join(f"{column} : {fts_phrase(t)}" for t in long_terms)
        fts: Select[Any] = (select(literal_column("rowid")).select_from(table("ticket_fts"))
                            .where(text(f"ticket_fts MATCH :{name}").bindparams(**{name: expr})))
        conds.append(ticket_search.c.id.in_(fts))
    return select(ticket_search.c.ticket_no).where(*conds)


async def plan_each_search(session: AsyncSession) -> None:
    """PostgreSQL: plan each search with its own pattern (a cached generic plan cannot tell a rare word from a common
    one, and walked the whole table backwards for a word found nowhere: 50 ms instead of 2 at 30,000 tickets)."""
    if is_postgres(session):
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


def _hashes(vault: PiiVault, values: Iterable[str | None], kind: str) -> list[str]:
    return sorted({h for v in values for h in vault.hashes(v, kind)})


class SearchConditions:
    """The conditions of a search on a ticket list, for this session's dialect."""

    def __init__(self, session: AsyncSession, vault: PiiVault) -> None:
        self.postgres = is_postgres(session)
        self.vault = vault
        self.names = _Names()

    def query(self, q: SearchQuery) -> ColumnElement[bool]:
        """`q`: its terms in the text, or the person's phone or name, or the ticket number. One IN over a UNION, so
        that each way is answered by its own index (an OR of them would scan every ticket on PostgreSQL)."""
        anyof: list[Select[Any]] = []
        if q.terms:
            anyof.append(_text_match(self.postgres, "body", q.terms, self.names))
        if q.phones:
            anyof.append(select(tickets.c.ticket_no).where(
                tickets.c.phone_hash.in_(_hashes(self.vault, q.phones, "phone"))))
        if q.name:
            anyof.append(select(tickets.c.ticket_no).where(
                tickets.c.name_hash.in_(_hashes(self.vault, [q.name], "name"))))
        if q.ticket_no:
            anyof.append(select(tickets.c.ticket_no).where(tickets.c.ticket_no == q.ticket_no))
        return tickets.c.ticket_no.in_(anyof[0] if len(anyof) == 1 else union(*anyof))

    def address(self, value: str) -> ColumnElement[bool]:
        """Every word of `address` in the ticket's normalised address."""
        terms = [t for t in (normalize_text(w) for w in value.split()) if t]
        return tickets.c.ticket_no.in_(_text_match(self.postgres, "place", terms, self.names)) if terms else and_(True)

    def phone(self, value: str) -> ColumnElement[bool]:
        """The person's phone (any of the forms it may be stored under)."""
        return tickets.c.phone_hash.in_(_hashes(self.vault, phone_forms(value), "phone"))

    def name(self, value: str) -> ColumnElement[bool]:
        """The person's name, exactly (normalised)."""
        return tickets.c.name_hash.in_(_hashes(self.vault, [normalize_name(value)], "name"))
