"""Reactions of one area to another's changes, inside the same transaction.

Areas register here instead of importing each other (a cancelled task rejects its quotes and
releases its booking without tasks.py knowing about either).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

_HOOKS: dict[str, list[Callable[..., None]]] = defaultdict(list)


def on(name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def register(func: Callable[..., None]) -> Callable[..., None]:
        _HOOKS[name].append(func)
        return func

    return register


def run(name: str, *args: Any) -> None:
    for func in _HOOKS[name]:
        func(*args)
