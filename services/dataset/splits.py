"""Hold out a validation split: a seeded shuffle, so the same upload and seed give the same split."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def split_frame(frame: pd.DataFrame, fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(train, validation); validation is None when fraction is 0. At least one row stays on each side."""
    if fraction <= 0 or len(frame) < 2:
        return frame, None
    n_val = min(len(frame) - 1, max(1, math.floor(len(frame) * fraction)))
    order = np.random.default_rng(seed).permutation(len(frame))
    val_idx = np.sort(order[:n_val])
    train_idx = np.sort(order[n_val:])
    return frame.iloc[train_idx].reset_index(drop=True), frame.iloc[val_idx].reset_index(drop=True)
