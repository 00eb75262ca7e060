"""Tests of what pcf_image refuses, warns about, or accepts at its door."""

import numpy
import pytest

import ipcf
from ipcf._rows import NegativeIntensityWarning
from ipcf.pcf import DuplicatePointsWarning
from ipcf.plan import logbins

OPTIONS = {'radius': 2, 'npoints': 8, 'nbins': 8}


@pytest.fixture(scope='module')
def series():
    return numpy.random.default_rng(3).poisson(100, (64, 12, 13))


def test_duplicate_points_warn(series):
    with pytest.warns(DuplicatePointsWarning, match='only 8 distinct'):
        ipcf.pcf_image(series, radius=1, npoints=32, nbins=8)
    with pytest.warns(DuplicatePointsWarning):
        ipcf.pcf_image(series, radius=1, npoints=1000, nbins=4)


def test_no_warning_without_duplicates(series, recwarn):
    ipcf.pcf_image(series, radius=2, npoints=None, nbins=8)
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]


def test_empty_mask_is_refused(series, tmp_path):
    mask = numpy.zeros(series.shape[1:], bool)
    mask[0, 0] = True  # outside the result grid (radius 2)
    with pytest.raises(ValueError, match='selects no pixel'):
        ipcf.pcf_image(series, mask=mask, **OPTIONS)
    with pytest.raises(ValueError, match='selects no pixel'):
        ipcf.analyze(
            series, tmp_path / 'r.h5', mask=mask, bleach=None, **OPTIONS
        )
    assert list(tmp_path.iterdir()) == []


def test_float_masks_of_zeros_and_ones(series, tmp_path):
    from ipcf.roi import load_mask

    mask = numpy.zeros(series.shape[1:])
    mask[4:8, 3:9] = 1.0
    result = ipcf.pcf_image(series, mask=mask, **OPTIONS)
    expected = ipcf.pcf_image(series, mask=mask.astype(bool), **OPTIONS)
    assert result.identical(expected)
    numpy.save(tmp_path / 'm.npy', mask)
    assert (load_mask(tmp_path / 'm.npy', mask.shape) == (mask == 1)).all()
    mask[0, 0] = 0.5
    with pytest.raises(TypeError, match='all 0 or 1'):
        ipcf.pcf_image(series, mask=mask, **OPTIONS)
    numpy.save(tmp_path / 'm.npy', mask)
    with pytest.raises(TypeError, match='all 0 or 1'):
        load_mask(tmp_path / 'm.npy', mask.shape)


def test_negative_intensities_warn(series):
    data = series.astype(numpy.float32) - 150
    with pytest.warns(NegativeIntensityWarning, match='negative'):
        ipcf.pcf_image(data, **OPTIONS)


def test_huge_bin_counts_are_bounded():
    assert logbins(8192, 10**12).tolist() == list(range(1, 8193))
    assert logbins(3, 10**15).tolist() == [1, 2, 3]


def test_result_larger_than_memory_is_refused(monkeypatch, series):
    import os

    monkeypatch.setattr(os, 'sysconf', lambda name: 10)  # 100 bytes here
    with pytest.raises(ValueError, match='more than the 1e-07 GB'):
        ipcf.pcf_image(series, radius=2, npoints=16, nbins=32)
