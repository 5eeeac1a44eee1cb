"""The glossary's vocabularies, shared by every contract (DESIGN.md)."""

from enum import StrEnum


class Channel(StrEnum):
    hotline = "hotline"
    mailbox = "mailbox"
    window = "window"
    web = "web"
    app = "app"
    platform = "platform"
    hotspot = "hotspot"  # a work order oversight hands down for a hotspot (高频共性问题); the centre asks


class Category(StrEnum):
    consult = "consult"
    complaint = "complaint"
    report = "report"
    suggestion = "suggestion"
    help = "help"
    praise = "praise"


class Domain(StrEnum):
    economic_regulation = "economic_regulation"
    market_supervision = "market_supervision"
    social_management = "social_management"
    public_service = "public_service"
    eco_environment = "eco_environment"


class Tier(StrEnum):
    green = "green"
    yellow = "yellow"
    red = "red"


class Route(StrEnum):
    dispatch = "dispatch"
    answer = "answer"
    petition = "petition"
    legal = "legal"
    hotline = "hotline"


class AlertLevel(StrEnum):
    reported = "reported"
    warning = "warning"
    urgent = "urgent"
    alarm = "alarm"


class ResolutionOutcome(StrEnum):
    resolved = "resolved"
    partially_resolved = "partially_resolved"
    unresolvable = "unresolvable"


class ResolvedAnswer(StrEnum):
    yes = "yes"
    partly = "partly"
    no = "no"


class Satisfaction(StrEnum):
    satisfied = "satisfied"
    basically_satisfied = "basically_satisfied"
    unsatisfied = "unsatisfied"
    unreachable = "unreachable"


class AccountabilityMeasure(StrEnum):
    reminder_talk = "reminder_talk"
    criticism = "criticism"
    written_review = "written_review"
    circulated_criticism = "circulated_criticism"
    admonishment = "admonishment"
    reassignment = "reassignment"
    discipline = "discipline"


TIER_ORDER = {Tier.green: 0, Tier.yellow: 1, Tier.red: 2}
