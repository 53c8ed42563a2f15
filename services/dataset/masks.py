"""Whole-column row masks shared by validation and repair: lengths, first characters, blanks, duplicates.

Columns hold str cells only. Per-cell work is a C function mapped over the column's object array
(`map(len, cells)`): no Python bytecode runs per row. On large cells each such pass costs a memory
access per cell, so checks share passes: one for lengths, one for first characters, and the
per-cell tests that need more (whitespace-only, formula patterns) run only on the few candidates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Every character for which str.isspace() is true (tests check this against the Unicode database).
WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)


def cells_of(column: pd.Series) -> np.ndarray:
    """The column's cells as an object array (no copy for str columns)."""
    return column.to_numpy(dtype=object)


def cell_lengths(column: pd.Series) -> np.ndarray:
    """Characters per cell as an int64 array."""
    cells = cells_of(column)
    return np.fromiter(map(len, cells), dtype=np.int64, count=len(cells))


def first_chars(column: pd.Series) -> np.ndarray:
    """Each cell's first character ("" for an empty cell) as a fixed-width numpy array: numpy's
    cast truncates every string in C without creating a Python object per cell."""
    return cells_of(column).astype("U1")


def in_set(chars: np.ndarray, allowed: frozenset[str]) -> np.ndarray:
    """True where chars[i] (from first_chars) is in `allowed`."""
    return np.isin(chars, np.array(sorted(allowed), dtype="U1"))


def blank_cells(column: pd.Series, lengths: np.ndarray | None = None, firsts: np.ndarray | None = None) -> np.ndarray:
    """True where a cell is empty or only whitespace (no stripped copy of the column is made)."""
    lengths = cell_lengths(column) if lengths is None else lengths
    firsts = first_chars(column) if firsts is None else firsts
    blank = lengths == 0
    candidates = np.flatnonzero(in_set(firsts, WHITESPACE))
    if len(candidates):
        cells = cells_of(column)[candidates]
        blank[candidates] = np.fromiter(map(str.isspace, cells), dtype=bool, count=len(cells))
    return blank


def duplicate_rows(
    frame: pd.DataFrame,
    columns: list[str],
    lengths: list[np.ndarray] | None = None,
    exclude: np.ndarray | None = None,
) -> np.ndarray:
    """True for each row whose `columns` repeat an earlier row's exactly (the first copy stays False).
    Rows in `exclude` are neither duplicates nor originals. Only rows whose tuple of cell lengths
    repeats can be duplicates, so the string hashing runs on that usually small subset."""
    n = len(frame)
    mask = np.zeros(n, dtype=bool)
    if n < 2:
        return mask
    lengths = [cell_lengths(frame[c]) for c in columns] if lengths is None else lengths
    candidates = length_key(lengths).duplicated(keep=False).to_numpy(copy=True)
    if exclude is not None:
        candidates &= ~exclude
    if candidates.any():
        rows = np.flatnonzero(candidates)
        # Series of tuples: one hash per tuple from the cells' (cached) str hashes, about half the
        # cost of DataFrame.duplicated, which factorizes each column separately.
        keys = pd.Series(list(zip(*(cells_of(frame[c])[rows] for c in columns))), dtype=object)
        mask[rows] = keys.duplicated().to_numpy()
    return mask


def length_key(lengths: list[np.ndarray]) -> pd.Series | pd.DataFrame:
    """One int64 per row combining the lengths when they fit (hashing one number beats a tuple)."""
    key = np.zeros(len(lengths[0]), dtype=np.int64)
    span = 1
    for column_lengths in lengths:
        width = int(column_lengths.max(initial=0)) + 1
        if span * width >= 2**62:
            return pd.DataFrame({i: a for i, a in enumerate(lengths)})
        key = key * width + column_lengths
        span *= width
    return pd.Series(key)
