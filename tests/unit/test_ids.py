from __future__ import annotations

import re

from tools.ids import new_id


def test_ids_carry_their_type_and_a_26_character_ulid() -> None:
    assert re.fullmatch(r"task_[0-9a-hjkmnp-tv-z]{26}", new_id("task"))


def test_ids_made_in_a_burst_sort_in_creation_order() -> None:
    made = [new_id("dlv") for _ in range(5000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
