"""What intake's routes, handlers and loops share: the runtime, the PII vault, the merge index, the SMS gateway."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from fastapi import Request

from bancheng_shared.runtime import Runtime
from intake_svc.merging import MergeIndex
from intake_svc.pii import PiiVault
from intake_svc.registration import GroupCommit
from intake_svc.settings import IntakeSettings
from intake_svc.sms import SmsGateway, gateway_from_settings

log = structlog.get_logger("intake")


@dataclass
class Intake:
    """The service's shared state (one per process)."""

    rt: Runtime
    settings: IntakeSettings
    vault: PiiVault
    index: MergeIndex
    sms: SmsGateway
    lookup_failures: dict[str, list[float]] = field(default_factory=dict)
    wakers: list[Callable[[], None]] = field(default_factory=list)
    group_commit: GroupCommit = field(init=False)

    def __post_init__(self) -> None:
        self.group_commit = GroupCommit(self, self.settings.accept_max_group)

    def deliverer_wake(self) -> None:
        """Nudge the callback loop (after a consumer queued deliveries)."""
        for w in self.wakers:
            w()

    @property
    def base_url(self) -> str:
        """Where the public lookup lives."""
        s = self.settings
        return s.public_base_url or f"http://{s.host}:{s.port}"


def build(rt: Runtime, settings: IntakeSettings) -> Intake:
    """The shared state from settings; a missing PII key gets a per-process dev key and a warning."""
    key = settings.pii_key
    if not key:
        # without a configured key, data encrypted now is unreadable after a restart: dev only
        key = secrets.token_urlsafe(32)
        log.warning("pii_key_unset", detail="INTAKE_PII_KEY is not set; using a random development key "
                    "(encrypted PII will not be readable after a restart)")
    return Intake(rt=rt, settings=settings, vault=PiiVault(key),
                  index=MergeIndex(settings.merge_num_perm, settings.merge_bands),
                  sms=gateway_from_settings(settings))


async def intake_of(request: Request) -> Intake:
    """The shared state (a FastAPI dependency; async so FastAPI does not hop to a thread for it)."""
    ctx: Intake = request.app.state.intake
    return ctx
