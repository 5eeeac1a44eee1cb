"""The work-order state machine: every action in every state, allowed or refused."""

from __future__ import annotations

import pytest

from triage_svc.lifecycle import TRANSITIONS, Action, State, TransitionRefused, allowed_actions, transition

S, A = State, Action
EXPECTED: dict[tuple[Action, State], State] = {
    (A.dispatch, S.triaged): S.dispatched, (A.dispatch, S.awaiting_answer): S.dispatched,
    (A.dispatch, S.transferred): S.dispatched,
    (A.sign, S.dispatched): S.signed, (A.deem_signed, S.dispatched): S.signed,
    (A.request_return, S.dispatched): S.return_requested,
    (A.approve_return, S.return_requested): S.dispatched, (A.reject_return, S.return_requested): S.signed,
    (A.progress, S.signed): S.in_progress, (A.progress, S.in_progress): S.in_progress,
    (A.resolve, S.signed): S.resolved, (A.resolve, S.in_progress): S.resolved,
    (A.answer, S.awaiting_answer): S.answered, (A.answer, S.triaged): S.answered,
    (A.reopen, S.resolved): S.dispatched, (A.reopen, S.answered): S.triaged, (A.reopen, S.closed): S.dispatched,
    (A.close, S.resolved): S.closed, (A.close, S.answered): S.closed, (A.close, S.transferred): S.closed,
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


def test_return_window_closes_once_signed_or_deemed() -> None:
    for st in (S.signed, S.in_progress, S.resolved):
        with pytest.raises(TransitionRefused):
            transition(st, A.request_return)
