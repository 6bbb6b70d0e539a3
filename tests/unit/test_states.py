from __future__ import annotations

from dataclasses import dataclass

import pytest

from tools.errors import PolicyBlocked
from tools.states import MACHINES, transition


def _table_cases() -> list[tuple[str, str, str, bool]]:
    cases = []
    for machine, table in MACHINES.items():
        for current in table:
            for target in table:
                cases.append((machine, current, target, target in table[current]))
    return cases


@pytest.mark.parametrize(("machine", "current", "target", "allowed"), _table_cases())
def test_transition_follows_the_table(machine: str, current: str, target: str, allowed: bool) -> None:
    @dataclass
    class Row:
        status: str
        id: str = "x_1"
        __tablename__ = machine

    row = Row(current)
    if allowed:
        assert transition(row, target) == current
        assert row.status == target
    else:
        with pytest.raises(PolicyBlocked) as caught:
            transition(row, target)
        assert caught.value.details["current_status"] == current
        assert row.status == current


def test_every_status_of_seed_002_is_in_the_tables() -> None:
    assert set(MACHINES["tasks"]) == {
        "draft", "open_for_quotes", "quoted", "booked", "in_progress", "delivered", "accepted", "disputed", "cancelled",
    }  # fmt: skip
    assert set(MACHINES["quotes"]) == {"pending", "accepted", "rejected", "expired"}
    assert set(MACHINES["bookings"]) == {"pending_escrow", "confirmed", "in_progress", "completed", "cancelled"}
    assert set(MACHINES["work_orders"]) == {
        "awaiting_delivery", "delivered", "qa_passed", "qa_failed", "changes_requested", "accepted", "disputed",
    }  # fmt: skip


def test_terminal_states_go_nowhere() -> None:
    for machine, terminal in (
        ("tasks", "accepted"),
        ("tasks", "cancelled"),
        ("quotes", "expired"),
        ("work_orders", "accepted"),
    ):
        assert MACHINES[machine][terminal] == frozenset()
