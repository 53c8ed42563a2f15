"""Whole-column row masks shared by validation and repair: lengths, blank cells, prefixes, duplicates.

Columns hold str cells only. Per-cell work is a C function mapped over the column's object array
(`map(len, cells)`), which runs no Python bytecode per row and beats pandas' .str methods here."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd


def cell_lengths(column: pd.Series) -> np.ndarray:
    """Characters per cell as an int64 array (len mapped in C over the cells)."""
    cells = column.to_numpy(dtype=object)
    return np.fromiter(map(len, cells), dtype=np.int64, count=len(cells))


def blank_cells(column: pd.Series, lengths: np.ndarray | None = None) -> np.ndarray:
    """True where a cell is empty or only whitespace (no stripped copy of the column is made)."""
    lengths = cell_lengths(column) if lengths is None else lengths
    cells = column.to_numpy(dtype=object)
    return (lengths == 0) | np.fromiter(map(str.isspace, cells), dtype=bool, count=len(cells))


def starts_with(column: pd.Series, prefixes: tuple[str, ...]) -> np.ndarray:
    """True where a cell starts with one of `prefixes`. str.startswith mapped in C: several times
    faster than Series.str.startswith, which calls a Python lambda per cell."""
    cells = column.to_numpy(dtype=object)
    return np.fromiter(map(str.startswith, cells, itertools.repeat(prefixes)), dtype=bool, count=len(cells))


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
    candidates = _length_key(lengths).duplicated(keep=False).to_numpy(copy=True)
    if exclude is not None:
        candidates &= ~exclude
    if candidates.any():
        mask[np.flatnonzero(candidates)] = frame.loc[candidates, columns].duplicated().to_numpy()
    return mask


def _length_key(lengths: list[np.ndarray]) -> pd.Series | pd.DataFrame:
    """One int64 per row when the lengths fit (hashing one number beats hashing a tuple)."""
    key = np.zeros(len(lengths[0]), dtype=np.int64)
    span = 1
    for column_lengths in lengths:
        width = int(column_lengths.max(initial=0)) + 1
        if span * width >= 2**62:
            return pd.DataFrame({i: a for i, a in enumerate(lengths)})
        key = key * width + column_lengths
        span *= width
    return pd.Series(key)
