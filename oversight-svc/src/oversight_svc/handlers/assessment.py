"""The yearly assessment's schemes: an admin stores a new version of a year's weights."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.exc import IntegrityError

from bancheng_shared.errors import Problem
from bancheng_shared.unit_of_work import UnitOfWork
from oversight_svc.adapters import assessment as stored
from oversight_svc.context import Oversight
from oversight_svc.domain.assessment import Scheme, check, next_version
from oversight_svc.domain.commands import SetAssessmentScheme


async def set_scheme(cmd: SetAssessmentScheme, uow: UnitOfWork, ox: Oversight) -> dict[str, Any]:
    """Store the next version of the year's scheme (who, when, why); earlier versions stay as they were."""
    check(cmd.weights, cmd.deductions, cmd.min_sample)
    ox.check_day("year", date(cmd.year, 1, 1))
    try:
        async with uow:
            s = uow.session
            scheme = Scheme(year=cmd.year, version=next_version(await stored.latest_version(s, cmd.year)),
                            weights=cmd.weights, deductions=cmd.deductions, min_sample=cmd.min_sample,
                            reason=cmd.reason, created_by=cmd.actor.name, created_role=cmd.actor.role.value,
                            created_at=uow.now())
            await stored.add(s, scheme)
    except IntegrityError:
        # another admin stored the same version number at the same moment: nothing of this one was kept
        raise Problem(409, f"year {cmd.year}: another version was stored at the same time; read the versions and "
                      "send again", type_="scheme-conflict") from None
    return scheme.view()
