"""The work order's state machine (pure): the one place that names every state, every action and every move.

Every action goes through it: the API's (sign, return, rule, dispatch, resolve, answer, close, tier, reclassify)
and the consumed events' (sla's DeemedSigned → deem_signed, oversight's RedoOrdered → reopen and satisfied
return visit → close, intake's repeats and sla's urgent alert → change_tier). A received ticket enters it through
`initial_state`, a correction re-routes through `reroute`.
"""

from __future__ import annotations

from enum import StrEnum

from bancheng_shared.contracts.vocab import Route
from bancheng_shared.errors import Problem


class State(StrEnum):
    """Where a work order stands."""

    triaged = "triaged"  # classified; waits for a manual dispatch (no unit found, or by the work team)
    awaiting_answer = "awaiting_answer"  # response level 3: the operator answers from the knowledge base
    transferred = "transferred"  # petition / legal: left the dispatch track, the receiving organ to sign for it
    transfer_received = "transfer_received"  # the receiving organ signed for the transferred item (签收)
    dispatched = "dispatched"  # with the lead unit, not yet signed
    return_requested = "return_requested"  # the unit asked to return it; the work team rules
    signed = "signed"  # signed for (or deemed signed, or the return was rejected)
    in_progress = "in_progress"  # the unit reported progress
    resolved = "resolved"  # the unit submitted its result; waits for the return visit
    answered = "answered"  # answered directly
    closed = "closed"  # satisfied return visit, or closed by the work team


class Action(StrEnum):
    """Everything that can happen to a work order (API actions and consumed events)."""

    dispatch = "dispatch"
    sign = "sign"
    deem_signed = "deem_signed"
    request_return = "request_return"
    approve_return = "approve_return"
    reject_return = "reject_return"
    progress = "progress"
    resolve = "resolve"
    answer = "answer"
    reopen = "reopen"
    close = "close"
    merge_away = "merge_away"
    reclassify = "reclassify"
    change_tier = "change_tier"


S = State
OPEN_STATES = frozenset(s for s in State if s != State.closed)

TRANSITIONS: dict[Action, dict[State, State]] = {
    Action.dispatch: {S.triaged: S.dispatched, S.awaiting_answer: S.dispatched, S.transferred: S.dispatched},
    # The lead unit signs for a dispatched work order; the receiving organ (petition office, political-legal
    # organs) signs for a transferred one, which stops the transfer's clock in sla.
    Action.sign: {S.dispatched: S.signed, S.transferred: S.transfer_received},
    Action.deem_signed: {S.dispatched: S.signed},
    # The return window is open while the unit has not signed and sla has not deemed it signed, and for two
    # working days after signing (签收后2个工作日内; the days are checked in `returns`).
    Action.request_return: {S.dispatched: S.return_requested, S.signed: S.return_requested},
    Action.approve_return: {S.return_requested: S.dispatched},
    # A rejected return leaves the matter with the unit, which goes on (counted as signed).
    Action.reject_return: {S.return_requested: S.signed},
    Action.progress: {S.signed: S.in_progress, S.in_progress: S.in_progress},
    Action.resolve: {S.signed: S.resolved, S.in_progress: S.resolved},
    Action.answer: {S.awaiting_answer: S.answered, S.triaged: S.answered},
    # Redo: back to the unit for a new round; without a unit it waits for a manual dispatch.
    Action.reopen: {S.resolved: S.dispatched, S.answered: S.triaged, S.closed: S.dispatched},
    Action.close: {S.resolved: S.closed, S.answered: S.closed, S.transferred: S.closed,
                   S.transfer_received: S.closed},
    # An operator merged the ticket into another in intake (并单): it is not worked on its own any more.
    Action.merge_away: {s: S.closed for s in OPEN_STATES},
    # Corrections and tier moves (by a person, or automatic: repeats, an urgent alert) do not change the
    # state; they are refused once closed.
    Action.reclassify: {s: s for s in OPEN_STATES},
    Action.change_tier: {s: s for s in OPEN_STATES},
}

# What the work team may still re-route when the classification is corrected, and where to.
REROUTABLE = frozenset({S.triaged, S.awaiting_answer, S.transferred, S.dispatched})
REROUTE_TARGETS = frozenset({S.transferred, S.dispatched})

# sla's DeemedSigned while a return request waits for the ruling is no move: the ruling still decides
# (the work order only remembers that the window passed).
WAITS_FOR_RULING = frozenset({S.return_requested})


class TransitionRefused(Exception):
    """The action does not fit the work order's state."""

    def __init__(self, action: Action, state: State) -> None:
        self.action = action
        self.state = state
        self.allowed = allowed_actions(state)
        super().__init__(
            f"work order is {state.value!r}; {action.value!r} is not allowed there "
            f"(allowed: {', '.join(a.value for a in self.allowed) or 'none'})"
        )

    def problem(self, ticket_no: str) -> Problem:
        """The 409 a caller gets: the state, the action and what is allowed there."""
        return Problem(409, f"ticket {ticket_no}: {self}", type_="invalid-transition", state=self.state.value,
                       action=self.action.value, allowed_actions=[a.value for a in self.allowed])


def allowed_actions(state: State) -> list[Action]:
    """The actions that fit a state."""
    return [a for a, moves in TRANSITIONS.items() if state in moves]


def transition(state: State | str, action: Action, *, has_unit: bool = True) -> State:
    """The state after an action, or TransitionRefused."""
    st = State(state)
    target = TRANSITIONS[action].get(st)
    if target is None:
        raise TransitionRefused(action, st)
    if action == Action.reopen and not has_unit:
        return S.triaged
    return target


def initial_state(route: Route, *, has_lead: bool) -> State:
    """Where a received ticket's work order starts, by its route and whether a lead unit was found."""
    if route in (Route.petition, Route.legal):
        return S.transferred  # to the petition office's / the political-legal organs' procedure
    if route == Route.answer:
        return S.awaiting_answer
    if not has_lead:
        return S.triaged  # no unit (or the hotline procedure): waits for the work team
    return S.dispatched


def reroute(state: State | str, target: State) -> State:
    """The state a correction re-routes to (transfer track or a unit), or TransitionRefused."""
    st = State(state)
    if st not in REROUTABLE or target not in REROUTE_TARGETS:
        raise TransitionRefused(Action.reclassify, st)
    return target
