"""Tests of ipcf._rows: the readers that engines pull rows from."""

from __future__ import annotations

import numpy
import pytest
from numpy.testing import assert_array_equal

from ipcf._rows import RowReader


class _Counting:
    """A lazy (T, H, W) source that counts the rows it is asked for."""

    def __init__(self, array, *, direct):
        self.array = array
        self.shape = array.shape
        self.dtype = array.dtype
        self.rows = numpy.zeros(array.shape[1], int)
        if direct:
            self.read_direct = self._read_direct

    def __getitem__(self, key):
        self.rows[key[1]] += 1
        return self.array[key]

    def _read_direct(self, array, source_sel, dest_sel):
        assert array.flags.c_contiguous  # as h5py needs
        self.rows[source_sel[1]] += 1
        array[dest_sel] = self.array[source_sel]


@pytest.mark.parametrize('direct', [False, True])
def test_slabs_read_each_row_once(direct):
    """A window moving down reads every row of a lazy source once."""
    rng = numpy.random.default_rng(0)
    array = rng.integers(0, 1000, (16, 40, 7), dtype=numpy.uint16)
    source = _Counting(array, direct=direct)
    # slabs of about 5 rows, windows of 3 rows that overlap them
    reader = RowReader([source], 12, slab_bytes=12 * 7 * 2 * 5)
    for y0 in range(0, 38):
        block = reader.read(0, y0, y0 + 3, 0, 7)
        assert_array_equal(block, array[:12, y0 : y0 + 3])
        part = reader.read(0, y0 + 1, y0 + 2, 2, 5)
        assert_array_equal(part, array[:12, y0 + 1 : y0 + 2, 2:5])
    assert_array_equal(source.rows, 1)


def test_slab_of_other_columns_reads_again():
    """Rows asked for with other columns are read again, correctly."""
    array = numpy.arange(8 * 10 * 6, dtype=numpy.int32).reshape(8, 10, 6)
    source = _Counting(array, direct=True)
    reader = RowReader([source], 8, slab_bytes=8 * 6 * 4 * 4)
    assert_array_equal(reader.read(0, 0, 2, 0, 6), array[:, 0:2])
    assert_array_equal(reader.read(0, 1, 6, 0, 3), array[:, 1:6, 0:3])
    assert_array_equal(reader.read(0, 5, 9, 0, 3), array[:, 5:9, 0:3])
    assert_array_equal(reader.read(0, 0, 3, 0, 6), array[:, 0:3])
    assert source.rows.max() <= 3
