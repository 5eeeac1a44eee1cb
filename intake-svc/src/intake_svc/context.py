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
from intake_svc.adapters.throttle import ProofThrottle
from intake_svc.domain.callbacks import DeliveryPolicy
from intake_svc.domain.merging import MergePolicy
from intake_svc.domain.targets import TargetPolicy
from intake_svc.domain.throttle import ThrottlePolicy
from intake_svc.models import TicketCreated
from intake_svc.settings import IntakeSettings


def merge_policy(settings: IntakeSettings) -> MergePolicy:
    """The merge rule's numbers from settings."""
    return MergePolicy(enabled=settings.merge_enabled, threshold=settings.merge_threshold,
                       person_threshold=settings.merge_person_threshold,
                       window_days=settings.merge_window_days, closed_statuses=frozenset(settings.closed_statuses),
                       possible_threshold=settings.merge_possible_threshold,
                       person_possible_threshold=settings.merge_person_possible_threshold,
                       possible_max=settings.merge_possible_max)


def throttle_policy(settings: IntakeSettings) -> ThrottlePolicy:
    """How often a ticket's proof may be tried, from settings."""
    return ThrottlePolicy(source_max_failures=settings.public_lookup_max_failures,
                          window_s=settings.public_lookup_window_s,
                          backoff_max_s=settings.public_lookup_backoff_max_s,
                          ticket_slow_after=settings.public_lookup_ticket_slow_after,
                          ticket_max_failures=settings.public_lookup_ticket_max_failures,
                          ticket_window_s=settings.public_lookup_ticket_window_s)


def delivery_policy(settings: IntakeSettings) -> DeliveryPolicy:
    """The callback retries' numbers, where callbacks may go and the secret overlap, from settings."""
    return DeliveryPolicy(max_attempts=settings.callback_max_attempts,
                          backoff_base_s=settings.callback_backoff_base_s,
                          backoff_max_s=settings.callback_backoff_max_s,
                          targets=TargetPolicy.of(settings.callback_allowed_targets,
                                                  allow_http=settings.callback_allow_http,
                                                  allowlist_only=settings.callback_allowlist_only),
                          secret_overlap_s=settings.callback_secret_overlap_s)


@dataclass
class Intake:
    """The service's shared state (one per process)."""

    settings: IntakeSettings
    vault: PiiVault
    index: MergeIndex
    sms: SmsGateway
    registrar: Registrar
    proofs: ProofThrottle
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

