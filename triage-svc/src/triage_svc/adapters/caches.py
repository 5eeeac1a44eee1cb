"""What one process keeps between events: the compiled catalogue and model, and the directory index.

Both are checked per use against the stamps (the active catalogue version, the newest correction, the directory
generation), read in one round trip: another replica's change (catalogue, correction, import) shows in the next
read, so it takes effect at once everywhere.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from triage_svc.adapters.tables import catalogue_versions, corrections, meta, units
from triage_svc.domain import classifier
from triage_svc.domain.catalogue import SHIPPED_VERSION
from triage_svc.domain.contacts import sms_number
from triage_svc.domain.directory import DirectoryIndex, UnitRef

# built once: a use only brings parameters (building a statement costs more than SQLite takes to run it)
STAMP_COLUMNS = (
    select(catalogue_versions.c.version).where(catalogue_versions.c.active.is_(True)).limit(1)
    .scalar_subquery().label("catalogue_version"),
    select(func.coalesce(func.max(corrections.c.id), 0)).scalar_subquery().label("last_correction"),
    select(meta.c.value).where(meta.c.key == "directory_generation").scalar_subquery()
    .label("directory_generation"),
)
_STAMPS = select(*STAMP_COLUMNS)
_CATALOGUE_DOC = select(catalogue_versions.c.doc).where(catalogue_versions.c.version == bindparam("version"))
_ACTIVE_CATALOGUE = select(catalogue_versions.c.version, catalogue_versions.c.doc).where(
    catalogue_versions.c.active.is_(True))
_ACTIVE_UNITS = select(units.c.code, units.c.name, units.c.level, units.c.kind, units.c.region_code,
                       units.c.parent_code, units.c.contacts).where(units.c.active.is_(True))
_RECENT_CORRECTIONS = select(corrections).order_by(corrections.c.id.desc()).limit(2000)
CORRECTION_WEIGHT = 3.0  # corrections teach the model too, weighted above the catalogue's own examples


class Stamps(NamedTuple):
    """The counters that tell whether the cached catalogue, model and directory are still current."""

    catalogue_version: int  # 0: the shipped catalogue
    last_correction: int
    directory_generation: int


def as_stamps(row: Any) -> Stamps:
    """The stamps of a row that selected STAMP_COLUMNS."""
    return Stamps(int(row.catalogue_version or 0), int(row.last_correction or 0), int(row.directory_generation or 0))


class Caches:
    """The compiled catalogue (with the model trained on it and the corrections) and the directory index of one
    process, rebuilt when the stamps moved. Built once in main.py and handed to the handlers in the context."""

    def __init__(self, shipped: dict[str, Any]) -> None:
        self.shipped = shipped  # the shipped catalogue, parsed once; never changed (copy it first)
        self._default: classifier.Compiled | None = None  # the shipped catalogue without corrections
        self._compiled: tuple[tuple[int, int], classifier.Compiled] | None = None
        self._directory: tuple[int, DirectoryIndex] | None = None

    def shipped_copy(self) -> dict[str, Any]:
        """The shipped catalogue, for a caller that may change it."""
        return copy.deepcopy(self.shipped)

    async def warm_up(self) -> None:
        """Compile the shipped catalogue before consumers start (scikit-learn import and training take seconds)."""
        if self._default is None:
            self._default = await asyncio.to_thread(classifier.compile_catalogue, self.shipped, SHIPPED_VERSION)

    async def stamps(self, session: AsyncSession) -> Stamps:
        """The current catalogue version, last correction and directory generation (one statement)."""
        return as_stamps((await session.execute(_STAMPS)).one())

    async def current(self, session: AsyncSession, stamps: Stamps | None = None
                      ) -> tuple[classifier.Compiled, DirectoryIndex]:
        """The compiled catalogue and the directory index as the stamps (read now when not given) say."""
        s = stamps or await self.stamps(session)
        return await self.compiled(session, s), await self.directory(session, s)

    async def directory(self, session: AsyncSession, stamps: Stamps | None = None) -> DirectoryIndex:
        """The routing index of the active directory (rebuilt when an import bumped the generation)."""
        s = stamps or await self.stamps(session)
        cached = self._directory
        if cached is not None and cached[0] == s.directory_generation:
            return cached[1]
        rows = (await session.execute(_ACTIVE_UNITS)).all()
        idx = DirectoryIndex.build(UnitRef(*r[:6], sms=sms_number(r.contacts)) for r in rows)
        self._directory = (s.directory_generation, idx)
        return idx

    async def compiled(self, session: AsyncSession, stamps: Stamps | None = None) -> classifier.Compiled:
        """The compiled catalogue and model, retrained when the catalogue or the corrections changed."""
        s = stamps or await self.stamps(session)
        key = (s.catalogue_version, s.last_correction)
        cached = self._compiled
        if cached is not None and cached[0] == key:
            return cached[1]
        doc = await self.catalogue_doc(session, s.catalogue_version)
        if s.catalogue_version == SHIPPED_VERSION and s.last_correction == 0:
            if self._default is None:
                self._default = await asyncio.to_thread(classifier.compile_catalogue, doc, SHIPPED_VERSION)
            self._compiled = (key, self._default)
            return self._default
        rows = (await session.execute(_RECENT_CORRECTIONS)).all()
        corr = [classifier.Correction(r.id, frozenset(classifier.ngrams(r.content)), r.kind, r.category, r.route,
                                      r.reason) for r in rows]
        extra = [(r.content, r.kind, CORRECTION_WEIGHT) for r in rows if r.kind]
        compiled = await asyncio.to_thread(classifier.compile_catalogue, doc, s.catalogue_version, corr, extra)
        self._compiled = (key, compiled)
        return compiled

    async def catalogue_doc(self, session: AsyncSession, version: int) -> dict[str, Any]:
        """A stored version's document (versions are never changed once stored); 0 is the shipped one."""
        if version == SHIPPED_VERSION:
            return self.shipped
        return dict((await session.execute(_CATALOGUE_DOC, {"version": version})).scalar_one())

    async def active_catalogue(self, session: AsyncSession) -> tuple[int, dict[str, Any]]:
        """The active catalogue version and a copy of its document (version 0: the shipped one)."""
        row = (await session.execute(_ACTIVE_CATALOGUE)).first()
        if row is None:
            return SHIPPED_VERSION, self.shipped_copy()
        return int(row.version), dict(row.doc)
