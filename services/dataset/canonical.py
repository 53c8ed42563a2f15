"""The canonical stored form of a dataset: UTF-8 CSV, every cell quoted, columns input, output, then the rest.

Every cell is quoted so a bare carriage return inside a cell survives the round trip (the csv
module would otherwise leave it unquoted and a reader would split the row there), and so the bytes,
and hence the content hash the store files them under, depend only on the cells.
"""

from __future__ import annotations

import csv

import pandas as pd

from services.common.errors import InvalidArgument
from services.dataset.csv_table import read_csv_frame
from services.dataset.headers import REQUIRED_COLUMNS


def canonical_columns(columns) -> list[str]:
    """input, output, then the other columns in their original order."""
    rest = [str(c) for c in columns if c not in REQUIRED_COLUMNS]
    return [*REQUIRED_COLUMNS, *rest]


def to_canonical_csv(frame: pd.DataFrame) -> bytes:
    """Serialise a normalised table (str cells). Raises InvalidArgument without input/output columns."""
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidArgument(
            f"Cannot store a dataset without {' and '.join(repr(c) for c in missing)}; fix the header first.",
            reason="MISSING_COLUMN",
            metadata={"missing": ",".join(missing)},
        )
    ordered = frame[canonical_columns(frame.columns)]
    return ordered.to_csv(index=False, lineterminator="\n", quoting=csv.QUOTE_ALL).encode("utf-8")


def read_canonical_csv(data: bytes) -> pd.DataFrame:
    """Read bytes written by to_canonical_csv back into the same frame (str cells, RangeIndex)."""
    return read_csv_frame(data, ",")
