"""What intake's handlers, queries and loops share: settings, policies, the PII vault, the merge index, the SMS
gateway, the registrar (group commit), the lookup throttle. Built once in main.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from intake_svc.adapters.group_commit import GroupCommit
from intake_svc.adapters.merge_index import MergeIndex
from intake_svc.adapters.pii_vault import PiiVault
from intake_svc.adapters.registrar import Registrar, Registration
from intake_svc.adapters.sms import SmsGateway
from intake_svc.domain.callbacks import DeliveryPolicy
from intake_svc.domain.merging import MergePolicy
from intake_svc.domain.public_lookup import FailedLookups
from intake_svc.models import TicketCreated
from intake_svc.settings import IntakeSettings


def merge_policy(settings: IntakeSettings) -> MergePolicy:
    """The merge rule's numbers from settings."""
    return MergePolicy(enabled=settings.merge_enabled, threshold=settings.merge_threshold,
                       window_days=settings.merge_window_days, closed_statuses=frozenset(settings.closed_statuses))


def delivery_policy(settings: IntakeSettings) -> DeliveryPolicy:
    """The callback retries' numbers from settings."""
    return DeliveryPolicy(max_attempts=settings.callback_max_attempts,
                          backoff_base_s=settings.callback_backoff_base_s,
                          backoff_max_s=settings.callback_backoff_max_s)


@dataclass
class Intake:
    """The service's shared state (one per process)."""

    settings: IntakeSettings
    vault: PiiVault
    index: MergeIndex
    sms: SmsGateway
    registrar: Registrar
    lookups: FailedLookups
    delivery: DeliveryPolicy
    wakers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def group_commit(self) -> GroupCommit[Registration, TicketCreated]:
        """The queue single registrations wait in for the next transaction."""
        return self.registrar.group_commit

    def wake_deliverer(self) -> None:
        """Nudge the callback loop (deliveries were queued or replayed)."""
        for w in self.wakers:
            w()

