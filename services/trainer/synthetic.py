"""Deterministic synthetic {"input", "output"} rows of mixed lengths, for tests, smoke runs and the benchmark.

The task is learnable by a tiny model: the output is the input's words reversed and upper-cased,
cycled or cut to its own length, so loss falls quickly while lengths stay independent.
"""

from __future__ import annotations

import random

_WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa "
          "quebec romeo sierra tango uniform victor whiskey xray yankee zulu data model train token loss").split()


def _text(rng: random.Random, length: int) -> str:
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < length:
        words.append(rng.choice(_WORDS))
    return " ".join(words)[:length].strip()


def synthetic_rows(count: int, seed: int = 0, min_length: int = 20, max_length: int = 400) -> list[dict]:
    """`count` rows whose input and output lengths (in bytes) are each uniform in [min_length, max_length]."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        source = _text(rng, rng.randint(min_length, max_length))
        target_length = rng.randint(min_length, max_length)
        reversed_upper = " ".join(reversed(source.split())).upper() or "EMPTY"
        target = (reversed_upper + " ") * (target_length // (len(reversed_upper) + 1) + 1)
        rows.append({"input": source, "output": target[:target_length].strip()})
    return rows
