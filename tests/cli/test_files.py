"""Arrays read from .npy, .npz, .csv and .parquet files."""

from __future__ import annotations

import numpy as np
import pytest

from service.cli.files import UsageError, read_array

pyarrow = pytest.importorskip("pyarrow")
import pyarrow.parquet as pq  # noqa: E402


def test_npy_and_npz_members(tmp_path):
    a, b = np.arange(6.0).reshape(3, 2), np.arange(3)
    np.save(tmp_path / "a.npy", a)
    np.savez(tmp_path / "one.npz", x=a)
    np.savez(tmp_path / "two.npz", predictions=a, targets=b)
    np.testing.assert_array_equal(read_array(str(tmp_path / "a.npy"), "predictions"), a)
    np.testing.assert_array_equal(read_array(str(tmp_path / "one.npz"), "targets"), a)
    np.testing.assert_array_equal(read_array(str(tmp_path / "two.npz"), "targets"), b)
    np.testing.assert_array_equal(read_array(f"{tmp_path / 'two.npz'}:predictions", "targets"), a)
    with pytest.raises(UsageError, match="none is named 'weights'"):
        read_array(str(tmp_path / "two.npz"), "weights")
    with pytest.raises(UsageError, match="no member 'z'"):
        read_array(f"{tmp_path / 'two.npz'}:z", "weights")


def test_csv_with_and_without_header(tmp_path):
    (tmp_path / "h.csv").write_text("p,t\n0.5,1\n1.5,nan\n")
    (tmp_path / "n.csv").write_text("0.5,1\n1.5,2\n")
    np.testing.assert_array_equal(read_array(f"{tmp_path / 'h.csv'}:p", "predictions"), [0.5, 1.5])
    np.testing.assert_array_equal(read_array(f"{tmp_path / 'h.csv'}:t", "t"), [1.0, np.nan])
    np.testing.assert_array_equal(read_array(str(tmp_path / "n.csv"), "p"), [[0.5, 1.0], [1.5, 2.0]])
    np.testing.assert_array_equal(read_array(f"{tmp_path / 'n.csv'}:1", "p"), [1.0, 2.0])
    with pytest.raises(UsageError, match="no column 'q'"):
        read_array(f"{tmp_path / 'h.csv'}:q", "p")


def test_parquet_columns_and_fixed_size_lists(tmp_path):
    table = pyarrow.table(
        {
            "score": [0.1, 0.2, None],
            "label": pyarrow.array([0, 1, 1], pyarrow.int64()),
            "vector": pyarrow.array(
                [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], pyarrow.list_(pyarrow.float64(), 2)
            ),
        }
    )
    pq.write_table(table, tmp_path / "d.parquet")
    path = str(tmp_path / "d.parquet")
    np.testing.assert_array_equal(read_array(f"{path}:score", "p"), [0.1, 0.2, np.nan])
    np.testing.assert_array_equal(read_array(f"{path}:vector", "p"), [[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(read_array(f"{path}:score,label", "p"), [[0.1, 0], [0.2, 1], [np.nan, 1]])


def test_missing_or_unknown_files_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        read_array(str(tmp_path / "absent.npy"), "predictions")
    (tmp_path / "x.txt").write_text("1\n")
    with pytest.raises(UsageError, match="not a .npy"):
        read_array(str(tmp_path / "x.txt"), "predictions")
    (tmp_path / "bad.npy").write_bytes(b"not numpy")
    with pytest.raises(UsageError, match="cannot read"):
        read_array(str(tmp_path / "bad.npy"), "predictions")
