"""A monitor's state machine: one check result in, the new status and counters out.

Pure: no database, no clock. The engine and the heartbeat watcher both call `advance`.
"""

from __future__ import annotations

from dataclasses import dataclass

from careline.monitoring.choices import MonitorStatus, ResultStatus


@dataclass(frozen=True)
class State:
    status: str
    fail_count: int
    ok_count: int


@dataclass(frozen=True)
class Step:
    state: State
    went_down: bool = False  # this result made the monitor down
    recovered: bool = False  # this result ended a down spell


def advance(state: State, result: str, *, retries: int, recover_after: int) -> Step:
    """Down after `retries` consecutive failures; a down monitor is up (or degraded) again
    after `recover_after` consecutive successes. A degraded answer is a working one."""
    retries = max(retries, 1)
    recover_after = max(recover_after, 1)
    if result == ResultStatus.DOWN:
        fails = state.fail_count + 1
        if state.status == MonitorStatus.DOWN or fails >= retries:
            return Step(
                State(MonitorStatus.DOWN, fails, 0),
                went_down=state.status != MonitorStatus.DOWN,
            )
        # Not yet down: the status it had stands while the failures count up.
        return Step(State(state.status, fails, 0))
    oks = state.ok_count + 1
    working = MonitorStatus.UP if result == ResultStatus.UP else MonitorStatus.DEGRADED
    if state.status == MonitorStatus.DOWN:
        if oks >= recover_after:
            return Step(State(working, 0, oks), recovered=True)
        return Step(State(MonitorStatus.DOWN, 0, oks))
    return Step(State(working, 0, oks))
