"""Arrow columns (read from Parquet files) as NumPy arrays: for the command line's file reading and
for ``service.distributed``'s. Needs pyarrow, imported by the caller."""

from __future__ import annotations

from typing import Any

import numpy as np


def column_array(column: Any) -> np.ndarray:
    """A column as NumPy: numbers as they are, a fixed-size list column as the rows of a 2-D array."""
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_fixed_size_list(column.type):
        return column.flatten().to_numpy(zero_copy_only=False).reshape(len(column), column.type.list_size)
    return column.to_numpy(zero_copy_only=False)
