"""Once per key: a repeated Idempotency-Key (per caller) or channel id replays the first answer; the same key
with a different body is refused (409), whether the first came earlier or earlier in the same group."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from bancheng_shared.errors import Problem

Key = tuple[str, ...]


def fingerprint(body: dict[str, Any], platform: str | None) -> str:
    """Fingerprint of a request body and where it came from: the same request gives the same hash."""
    return hashlib.sha256(orjson.dumps({"body": body, "platform": platform}, option=orjson.OPT_SORT_KEYS)).hexdigest()


def channel_scope(*, caller: str, platform: str | None) -> str:
    """Whose channel ids an `external_id` is one of: a platform's items (signed, so the platform is known), else the
    caller's key. An id is unique within its scope only, so one caller cannot take another's id first."""
    return platform if platform else f"key:{caller}"


def keys_of(*, caller: str, idempotency_key: str | None, channel: str, source: str,
            external_id: str | None) -> list[Key]:
    """The keys a request is known by: the caller's Idempotency-Key, the channel's own id (within its scope)."""
    keys: list[Key] = []
    if idempotency_key:
        keys.append(("key", caller, idempotency_key))
    if external_id:
        keys.append(("channel", channel, source, external_id))
    return keys


def conflict(position: int | None, ticket_no: str | None) -> Problem:
    """409: a key came again with a different body (`position` names the item of a batch)."""
    where = f"items[{position}]: " if position is not None else ""
    if ticket_no is None:
        return Problem(409, f"{where}the same Idempotency-Key or channel id comes twice with different bodies",
                       type_="idempotency-conflict")
    return Problem(409, f"{where}this Idempotency-Key or channel id was used with a different body",
                   type_="idempotency-conflict", ticket_no=ticket_no)


@dataclass(frozen=True)
class Earlier:
    """A submission stored before under one of a request's keys."""

    ticket_no: str
    fingerprint: str


@dataclass
class Plan:
    """What to do with each request of a group (by position)."""

    replays: list[int] = field(default_factory=list)  # answered with their earlier submission's answer
    repeats_of: dict[int, int] = field(default_factory=dict)  # a later request -> the group's first with its key
    new: list[int] = field(default_factory=list)  # to create or merge, in order


def plan(keys: Sequence[Sequence[Key]], fingerprints: Sequence[str], earlier: Mapping[int, Earlier], *,
         positions: bool = False) -> Plan:
    """Sort a group out: replays of earlier submissions, repeats of a request earlier in the group, new ones.

    Raises 409 for a key reused with a different body; `positions` names the item (a batch).
    """
    out = Plan()
    first_of: dict[Key, int] = {}
    for i, mine in enumerate(keys):
        before = earlier.get(i)
        if before is not None:
            if before.fingerprint != fingerprints[i]:
                raise conflict(i if positions else None, before.ticket_no)
            out.replays.append(i)
            continue
        first = next((first_of[k] for k in mine if k in first_of), None)
        if first is not None:
            if fingerprints[first] != fingerprints[i]:
                raise conflict(i if positions else None, None)
            out.repeats_of[i] = first
            continue
        first_of.update(dict.fromkeys(mine, i))
        out.new.append(i)
    return out
