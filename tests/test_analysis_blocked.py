"""Tests of the maps in blocks of rows: equal to the whole map, bounded.

The maps of a stored result are made block by block with a halo of rows
for the box average; the steps over the whole map (the noise median,
the pooled means) run over the blocks first. Every test compares with
:func:`ipcf.maps` of the result in memory, or with numpy's median.

"""

from __future__ import annotations

import numpy
import pytest
import xarray
from numpy.testing import assert_allclose, assert_array_equal

import ipcf
from ipcf.analysis import load_maps, maps, save_maps, write_maps
from ipcf.analysis._blocked import _Median

PIXEL = 0.1  # um
PSF = 0.25  # um, 1/e^2 radius
UNITS = {'pixel_size': PIXEL, 'w': PSF}


@pytest.fixture(scope='module')
def result():
    """A 23 x 25 result with NaN pixels: a masked band and a hole."""
    sim = ipcf.simulate.free(shape=(1024, 29, 31), seed=0)
    mask = numpy.ones((29, 31), bool)
    mask[:4] = False
    mask[10:14, 5:9] = False
    return ipcf.pcf_image(sim.data, radius=3, npoints=8, dt=1e-3, mask=mask)


@pytest.fixture(scope='module')
def stored(result, tmp_path_factory):
    path = tmp_path_factory.mktemp('blocked') / 'result.h5'
    return ipcf.store.save_result(result, path, chunks=(8, 8))


@pytest.fixture(scope='module')
def keep(result):
    """A mask of the result grid that cuts three columns."""
    keep = numpy.ones(result.shape[:2], bool)
    keep[:, -3:] = False
    return keep


def assert_maps_equal(actual, expected):
    """Maps equal to the last bits: values, labels and attributes."""
    assert set(actual.data_vars) == set(expected.data_vars)
    for name, var in expected.data_vars.items():
        if var.dtype == bool:
            assert_array_equal(actual[name], var, err_msg=name)
        else:
            assert_allclose(
                actual[name], var, rtol=1e-12, atol=0, err_msg=name
            )
    xarray.testing.assert_identical(
        actual.coords.to_dataset(), expected.coords.to_dataset()
    )
    for key, value in expected.attrs.items():
        if isinstance(value, float):
            assert_allclose(actual.attrs[key], value, rtol=1e-12, err_msg=key)
        else:
            assert actual.attrs[key] == value, key


@pytest.mark.parametrize('window', [1, 3])
@pytest.mark.parametrize('rows', [1, 4, 7, 23, 100])
def test_stored_maps_equal_whole(result, stored, keep, rows, window):
    """Blocks of 1, 4, 7 (dividing no side), all and more rows."""
    options = {'window': window, 'mask': keep, 'threshold': 0.5}
    expected = maps(result, **UNITS, **options)
    assert expected.attrs['D_pooled_blocks'] >= 2  # the blocks' pool runs
    assert expected['connected'].values.any()
    actual = maps(stored, **UNITS, **options, rows=rows)
    assert_maps_equal(actual, expected)


def test_in_memory_rows_equal_whole(result):
    """The rows option applies to a result in memory too."""
    expected = maps(result, **UNITS, window=5, threshold=0.5)
    actual = maps(result, **UNITS, window=5, threshold=0.5, rows=3)
    assert_maps_equal(actual, expected)
    assert actual['connected'].values.any()


def test_reads_float32_blocks(result, stored, monkeypatch):
    """Rows are read a block (and its halo) at a time, as stored."""
    import h5py

    reads = []
    getitem = h5py.Dataset.__getitem__

    def spy(self, key):
        out = getitem(self, key)
        if self.ndim == 4:
            reads.append((out.shape[0], out.dtype))
        return out

    monkeypatch.setattr(h5py.Dataset, '__getitem__', spy)
    maps(stored, **UNITS, window=3, rows=4)
    assert reads
    assert all(dtype == numpy.float32 for _, dtype in reads)
    assert max(count for count, _ in reads) == 4 + 2  # block and halo


@pytest.mark.parametrize('suffix', ['.h5', '.zarr', '.nc'])
def test_write_maps(result, stored, tmp_path, suffix):
    """write_maps writes what save_maps writes of the maps."""
    if suffix == '.zarr':
        pytest.importorskip('zarr')
    expected = maps(stored, **UNITS, rows=5)
    path = write_maps(stored, tmp_path / f'maps{suffix}', **UNITS, rows=5)
    assert path == tmp_path / f'maps{suffix}'
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    loaded = load_maps(path)
    xarray.testing.assert_identical(loaded, expected)
    reference = load_maps(save_maps(expected, tmp_path / f'ref{suffix}'))
    assert (
        loaded.encoding['provenance']['call']
        == (reference.encoding['provenance']['call'])
    )
    assert_maps_equal(loaded, maps(result, **UNITS))
    with pytest.raises(FileExistsError, match='overwrite=True'):
        write_maps(stored, path, **UNITS)
    write_maps(result, path, **UNITS, overwrite=True)
    assert_maps_equal(load_maps(path), expected)


def test_write_maps_interrupted(stored, tmp_path, monkeypatch):
    """A failure in a block leaves no file, and no hidden one."""
    from ipcf.analysis import _blocked

    calls = []

    def failing(curves, finite, noise, setup):
        calls.append(len(curves))
        if len(calls) == 3:
            msg = 'stop'
            raise RuntimeError(msg)
        return pixel_maps(curves, finite, noise, setup)

    pixel_maps = _blocked.pixel_maps
    monkeypatch.setattr(_blocked, 'pixel_maps', failing)
    with pytest.raises(RuntimeError, match='stop'):
        write_maps(stored, tmp_path / 'maps.h5', **UNITS, rows=2)
    assert list(tmp_path.iterdir()) == []


def test_stored_result_errors(stored, tmp_path):
    with pytest.raises(FileNotFoundError, match='no such file'):
        maps(tmp_path / 'missing.h5', **UNITS)
    with pytest.raises(ValueError, match='rows=0 must be'):
        maps(stored, **UNITS, rows=0)
    with pytest.raises(ValueError, match="no result group 'pcf'"):
        maps(write_maps(stored, tmp_path / 'maps.h5', **UNITS), **UNITS)
    with pytest.raises(ValueError, match='would overwrite the input'):
        write_maps(stored, stored, **UNITS, overwrite=True)
    assert ipcf.load_result(stored).shape == (23, 25, 8, 28)


@pytest.mark.parametrize('count', [1, 2, 999, 1000])
def test_median_exact(count):
    """The median of passes equals numpy's, odd and even counts."""
    rng = numpy.random.default_rng(count)
    values = rng.standard_normal((count, 3)) * [1.0, 1e-3, 1e5]
    values[rng.random(count) < 0.3, 0] = 0.0  # ties, and zero
    values[:, 2] = numpy.round(values[:, 2], -4)  # few distinct values
    median = _Median(3, keep=16)  # few kept: histograms go deeper
    blocks = numpy.array_split(values, 7)
    for block in blocks:
        median.add(block)
    passes = 1
    while median.another_pass():
        passes += 1
        for block in blocks:
            median.add(block)
    expected = numpy.median(numpy.abs(values), axis=0)
    assert_array_equal(median.median(), expected)
    assert passes <= 5


def test_bench_maps_runs(tmp_path):
    """The benchmark of the blocked maps makes a store and maps it."""
    import sys

    from ipcf import cli

    sys.path.insert(0, str(cli._BENCHMARKS))
    try:
        import bench_maps
    finally:
        sys.path.remove(str(cli._BENCHMARKS))
    rows = bench_maps.bench_maps(
        str(tmp_path),
        size=(20, 23),
        points=8,
        bins=8,
        frames=512,
        rows=3,
        stages=('make', 'maps blocks'),
    )
    assert [row['stage'] for row in rows] == ['make', 'maps blocks']
    assert all(row['peak_rss_mb'] > 10 for row in rows)
    out = load_maps(tmp_path / 'maps.h5')
    assert out['D'].shape == (8, 11)
    assert numpy.isfinite(out['D']).mean() > 0.5  # model curves fit
