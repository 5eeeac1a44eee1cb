"""The work-order state machine: every action in every state, allowed or refused."""

from __future__ import annotations

import pytest

from bancheng_shared.contracts.vocab import Route
from triage_svc.domain.lifecycle import (
    TRANSITIONS,
    WAITS_FOR_RULING,
    Action,
    State,
    TransitionRefused,
    allowed_actions,
    initial_state,
    reroute,
    transition,
)

S, A = State, Action
EXPECTED: dict[tuple[Action, State], State] = {
    (A.dispatch, S.triaged): S.dispatched, (A.dispatch, S.awaiting_answer): S.dispatched,
    (A.dispatch, S.transferred): S.dispatched,
    (A.sign, S.dispatched): S.signed, (A.deem_signed, S.dispatched): S.signed,
    (A.sign, S.transferred): S.transfer_received,  # the receiving organ signs for a transfer
    (A.request_return, S.dispatched): S.return_requested,
    (A.request_return, S.signed): S.return_requested,
    (A.approve_return, S.return_requested): S.dispatched, (A.reject_return, S.return_requested): S.signed,
    (A.progress, S.signed): S.in_progress, (A.progress, S.in_progress): S.in_progress,
    (A.resolve, S.signed): S.resolved, (A.resolve, S.in_progress): S.resolved,
    (A.answer, S.awaiting_answer): S.answered, (A.answer, S.triaged): S.answered,
    (A.reopen, S.resolved): S.dispatched, (A.reopen, S.answered): S.triaged, (A.reopen, S.closed): S.dispatched,
    (A.close, S.resolved): S.closed, (A.close, S.answered): S.closed, (A.close, S.transferred): S.closed,
    (A.close, S.transfer_received): S.closed,
    **{(A.merge_away, s): S.closed for s in State if s != S.closed},  # merged into another ticket in intake
    **{(A.reclassify, s): s for s in State if s != S.closed},
    **{(A.change_tier, s): s for s in State if s != S.closed},
}


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("state", list(State))
def test_every_action_in_every_state(action: Action, state: State) -> None:
    expected = EXPECTED.get((action, state))
    if expected is None:
        with pytest.raises(TransitionRefused) as info:
            transition(state, action)
        assert info.value.state == state
        assert action not in info.value.allowed
        assert state.value in str(info.value)
    else:
        assert transition(state, action) == expected
        assert action in allowed_actions(state)


def test_table_is_what_the_tests_expect() -> None:
    assert {(a, s) for a, m in TRANSITIONS.items() for s in m} == set(EXPECTED)


def test_reopen_without_a_unit_waits_for_dispatch() -> None:
    assert transition(S.resolved, A.reopen, has_unit=False) == S.triaged


def test_return_window_stays_open_after_signing_and_closes_with_the_work() -> None:
    # signed: the days after signing are checked in `returns` (签收后2个工作日内); once at work, closed
    assert transition(S.signed, A.request_return) == S.return_requested
    for st in (S.in_progress, S.resolved):
        with pytest.raises(TransitionRefused):
            transition(st, A.request_return)


def test_where_a_received_ticket_starts() -> None:
    assert initial_state(Route.dispatch, has_lead=True) == S.dispatched
    assert initial_state(Route.dispatch, has_lead=False) == S.triaged
    assert initial_state(Route.hotline, has_lead=False) == S.triaged
    assert initial_state(Route.answer, has_lead=False) == S.awaiting_answer
    assert initial_state(Route.petition, has_lead=False) == S.transferred
    assert initial_state(Route.legal, has_lead=False) == S.transferred


def test_a_correction_re_routes_only_what_is_not_yet_with_a_signing_unit() -> None:
    for st in (S.triaged, S.awaiting_answer, S.transferred, S.dispatched):
        assert reroute(st, S.transferred) == S.transferred and reroute(st, S.dispatched) == S.dispatched
    for st in (S.return_requested, S.signed, S.in_progress, S.resolved, S.answered, S.closed):
        with pytest.raises(TransitionRefused):
            reroute(st, S.dispatched)
    with pytest.raises(TransitionRefused):
        reroute(S.triaged, S.closed)


def test_a_refusal_is_a_409_naming_the_state_and_what_is_allowed() -> None:
    with pytest.raises(TransitionRefused) as info:
        transition(S.dispatched, A.resolve)
    problem = info.value.problem("BC20250303000001")
    assert (problem.status, problem.type_) == (409, "invalid-transition")
    assert problem.extra == {"state": "dispatched", "action": "resolve",
                             "allowed_actions": ["sign", "deem_signed", "request_return", "merge_away", "reclassify",
                                                 "change_tier"]}


def test_deemed_signed_while_a_return_request_waits_is_no_move() -> None:
    assert WAITS_FOR_RULING == {S.return_requested}
    with pytest.raises(TransitionRefused):
        transition(S.return_requested, A.deem_signed)
