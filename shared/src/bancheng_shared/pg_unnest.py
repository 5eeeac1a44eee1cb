"""Many rows in one statement on PostgreSQL: an executemany INSERT is sent as `INSERT … SELECT * FROM unnest(arrays)`,
an executemany UPDATE by key as `UPDATE … FROM unnest(arrays) WHERE key = the row's`.

asyncpg runs an executemany as one execution per row: PostgreSQL starts its executor, plans and writes the row,
once per row (about 15 per ticket across the services, a third of them the inbox's). The same rows as one array
per column are one execution, whatever their number, and the statement text is the same for any number of rows,
so it stays one prepared statement.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import Engine, event

_INSERT = re.compile(r"INSERT INTO (?P<table>\S+) \((?P<columns>[^()]*)\) "
                     r"VALUES \((?P<values>(?:[^()]|\(\d+(?:, \d+)?\))*)\)"
                     r"(?P<tail>( ON CONFLICT \((?P<target>[^()]*)\) DO (NOTHING|UPDATE SET [^$]*))?)", re.S)
# a bound value as the asyncpg dialect renders it: its position and its cast (VARCHAR, NUMERIC(10, 2),
# TIMESTAMP WITH TIME ZONE ...)
_PARAM = re.compile(r"\$(\d+)::([A-Z][A-Z0-9_]*(?: WITH TIME ZONE| WITHOUT TIME ZONE| PRECISION| VARYING)?"
                    r"(?:\(\d+(?:, \d+)?\))?(?:\[\])*)")
# array columns stay row by row: unnest takes a 2-D array apart flat, not row by row
_KEEP = re.compile(r"\[")


@dataclass(frozen=True)
class Unnest:
    """The one-execution form of a multi-row INSERT."""

    sql: str
    # the positions of the ON CONFLICT … DO UPDATE target's values: one statement may not update a row twice, so
    # the form serves only rows whose targets all differ (row by row, a repeated key is updated twice)
    distinct: tuple[int, ...] = ()

    def serves(self, rows: Sequence[Sequence[Any]]) -> bool:
        """Whether these rows may go as one statement."""
        if not self.distinct:
            return True
        return len({tuple(row[i] for i in self.distinct) for row in rows}) == len(rows)


def as_unnest(statement: str) -> Unnest | None:
    """The one-execution form of a multi-row INSERT's or UPDATE's statement, or None when it has another shape."""
    if statement.startswith("UPDATE "):
        return _update(statement)
    return _insert(statement)


def _insert(statement: str) -> Unnest | None:
    """The one-execution form of a multi-row INSERT's statement, or None when it has another shape.

    Only INSERTs whose every value is one parameter in order ($1, $2, …), with no RETURNING, and an ON CONFLICT that
    does nothing or updates with no parameter of its own.
    """
    m = _INSERT.fullmatch(statement)
    if m is None:
        return None
    params = _PARAM.findall(m["values"])
    if not params or ", ".join(f"${n}::{t}" for n, t in params) != m["values"]:
        return None
    if [int(n) for n, _ in params] != list(range(1, len(params) + 1)) or any(_KEEP.search(t) for _, t in params):
        return None
    distinct: tuple[int, ...] = ()
    if " DO UPDATE " in m["tail"]:
        columns = [c.strip() for c in m["columns"].split(",")]
        target = [c.strip() for c in (m["target"] or "").split(",")]
        if len(columns) != len(params) or not set(target) <= set(columns):
            return None
        distinct = tuple(columns.index(c) for c in target)
    arrays = ", ".join(f"${n}::{t}[]" for n, t in params)
    return Unnest(f"INSERT INTO {m['table']} ({m['columns']}) SELECT * FROM unnest({arrays}){m['tail']}", distinct)


_UPDATE = re.compile(r"UPDATE (?P<table>[a-z_][a-z0-9_]*) SET (?P<set>.*) WHERE (?P<where>.*)", re.S)
_KEY = re.compile(r"[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]* = \$(\d+)::[^$]+")


def _update(statement: str) -> Unnest | None:
    """The one-execution form of a multi-row UPDATE whose rows each name their row by key (`table.col = $n AND …`),
    or None when it has another shape.

    The values come from the unnested arrays (`FROM unnest(…) AS _rows(p1, …)`); a key repeated in the rows would
    update its row once where row by row it is updated twice, so only rows whose keys all differ go as one.
    """
    m = _UPDATE.fullmatch(statement)
    if m is None or " FROM " in statement or "RETURNING" in statement:
        return None
    params = _PARAM.findall(statement)
    types: dict[int, str] = {}
    for n, t in params:
        if types.setdefault(int(n), t) != t or _KEEP.search(t):
            return None
    if not types or sorted(types) != list(range(1, len(types) + 1)):
        return None
    keys: list[int] = []
    for term in m["where"].split(" AND "):
        key = _KEY.fullmatch(term)
        if key is not None:
            keys.append(int(key[1]))
        elif "$" in term:
            return None  # a parameter in a condition that is not a key's equality: rows could overlap
    if not keys or any(f"${k}::" in m["set"] for k in keys):
        return None
    names = ", ".join(f"p{n}" for n in sorted(types))
    arrays = ", ".join(f"${n}::{types[n]}[]" for n in sorted(types))

    def to_rows(text: str) -> str:
        return _PARAM.sub(lambda p: f"_rows.p{p[1]}", text)
    sql = (f"UPDATE {m['table']} SET {to_rows(m['set'])} FROM unnest({arrays}) AS _rows({names}) "
           f"WHERE {to_rows(m['where'])}")
    return Unnest(sql, tuple(k - 1 for k in keys))


def columns_of(rows: Sequence[Sequence[Any]]) -> list[tuple[list[Any], ...]]:
    """The rows' parameters as one parameter set of a list per column."""
    return [tuple(list(col) for col in zip(*rows, strict=True))]


@dataclass(frozen=True)
class Part:
    """One INSERT of a statement that writes several tables at once: its unnest form and its parameters' order."""

    form: Unnest
    compiled: Any
    names: tuple[str, ...]
    processors: Mapping[str, Callable[[Any], Any]]

    def parameters(self, rows: Sequence[Mapping[str, Any]]) -> list[Any] | None:
        """The rows as one list per parameter, each value as SQLAlchemy would send it; None when they may not go as
        one statement (two rows updating the same key)."""
        procs, names, construct = self.processors, self.names, self.compiled.construct_params
        values = []
        for row in rows:
            given = construct(row, escape_names=False)
            values.append([procs[k](given[k]) if k in procs else given[k] for k in names])
        return list(columns_of(values)[0]) if self.form.serves(values) else None


def part_of(dialect: Any, statement: Any, keys: Sequence[str]) -> Part | None:
    """The unnest form of a prebuilt INSERT given values for `keys`, or None when it has another shape (a default
    computed in Python, an expanding parameter, RETURNING...)."""
    compiled = statement.compile(dialect=dialect, column_keys=list(keys), for_executemany=True)
    if (not compiled.positional or compiled.insert_prefetch or compiled.literal_execute_params
            or compiled.post_compile_params):
        return None
    form = _insert(compiled.string)
    if form is None:
        return None
    return Part(form, compiled, tuple(compiled.positiontup), compiled._bind_processors)


_NUMBER = re.compile(r"\$(\d+)")


def _renumbered(m: re.Match[str], by: int) -> str:
    return f"${int(m[1]) + by}"


def together(statements: Sequence[str]) -> str:
    """Several INSERTs as one statement: each but the last a data-modifying WITH query, their parameters numbered
    on from the one before (all of them see the same snapshot and are written, or none, when it ends)."""
    numbered: list[str] = []
    offset = 0
    for sql in statements:
        numbered.append(_NUMBER.sub(partial(_renumbered, by=offset), sql))
        offset += max(int(n) for n in _NUMBER.findall(sql))
    *first, last = numbered
    if not first:
        return last
    return "WITH " + ", ".join(f"w{i} AS ({sql})" for i, sql in enumerate(first)) + " " + last


def install(engine: Engine) -> None:
    """Send this PostgreSQL engine's multi-row INSERTs and UPDATEs by key as one execution each."""
    shapes: dict[str, Unnest | None] = {}  # a service has a few dozen statements: each is looked at once

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _one_execution(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
                       executemany: bool) -> tuple[str, Any]:
        if not executemany or len(parameters) < 2:
            return statement, parameters
        if statement not in shapes:
            shapes[statement] = as_unnest(statement)
        form = shapes[statement]
        if form is None or not form.serves(parameters):
            return statement, parameters
        return form.sql, columns_of(parameters)
