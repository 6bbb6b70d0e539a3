"""Ids are `<prefix>_<ulid>`: sortable by creation time, so cursors can be plain ids.

Within one process ids are monotonic (as ULID's monotonic mode): two ids made in the same
millisecond keep their creation order, so rows written in one call (the files of a delivery,
tasks made in a burst) list in the order they were made.
"""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
#: every pair of characters, by the 10 bits they encode
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]
_RAND_BITS = 80
_lock = threading.Lock()
_last = (0, 0)  # (millis, random part) of the newest id


def _encode(value: int) -> str:
    """The low 130 bits of `value` as 26 base32 characters, most significant first."""
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in range(120, -1, -10)])


def _next() -> tuple[int, int]:
    global _last
    millis = int(time.time() * 1000)
    with _lock:
        last_millis, last_rand = _last
        if millis <= last_millis and last_rand + 1 < 1 << _RAND_BITS:
            millis, rand = last_millis, last_rand + 1
        else:
            rand = int.from_bytes(os.urandom(_RAND_BITS // 8), "big") >> 1  # headroom to count up
        _last = (millis, rand)
    return millis, rand


def new_id(prefix: str) -> str:
    millis, rand = _next()
    return f"{prefix}_{_encode(millis << _RAND_BITS | rand)}"
