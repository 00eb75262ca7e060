"""Tests of imaging FCS and N&B through the blocked pipeline.

Blocked results equal :func:`ipcf.fcs.acf_image` and
:func:`ipcf.brightness.number_brightness` of the whole series, with and
without binning, masks and regions, and an interrupted run resumed
gives the same result as one that was not interrupted.

"""

import numpy
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import ipcf
from ipcf import pipeline
from ipcf._binned import BinnedAcfAnalysis, BinnedSeries, run_acf
from ipcf._sources import relative_source
from ipcf.brightness import NbAnalysis, number_brightness
from ipcf.fcs import AcfAnalysis, acf_image
from ipcf.store import InterruptedRunError, load_result


@pytest.fixture(scope='module')
def series():
    """Free diffusion, (256, 11, 13) uint16, offset 100."""
    sim = ipcf.simulate.free(shape=(256, 11, 13), diffusion=4.0, seed=3)
    return sim.data


@pytest.fixture(scope='module')
def stored(series, tmp_path_factory):
    """The series in an HDF5 file."""
    path = tmp_path_factory.mktemp('fcs') / 'series.h5'
    return ipcf.io.imwrite(path, series)


def nb_whole(series, **kwargs):
    return number_brightness(series, **kwargs)


@pytest.mark.parametrize(
    'options',
    [
        {'offset': 100.0},
        {'offset': 98.0, 'gain': 2.0, 'readout_variance': 3.0},
        {'offset': 100.0, 's_factor': 2.0, 'detrend': 16},
        {'offset': 100.0, 'detrend': 'poly:1'},
    ],
)
def test_nb_blocked_equals_whole(options, stored, series, tmp_path):
    out = pipeline.run(
        NbAnalysis(**options),
        [stored],
        tmp_path / 'nb.h5',
        bleach=None,
        block=4,
    )
    blocked = load_result(out, group='nb')
    whole = nb_whole(series, **options)
    assert set(blocked.data_vars) == set(whole.data_vars)
    for key in whole.data_vars:
        assert_allclose(
            blocked[key].values, whole[key].values, rtol=1e-6, atol=1e-6
        )
    assert blocked.attrs['frames'] == whole.attrs['frames']
    for key in ('offset', 'gain', 'readout_variance', 's_factor', 'detrend'):
        assert blocked.attrs[key] == whole.attrs[key]


def test_nb_blocked_mask_and_roi(stored, series, tmp_path):
    mask = numpy.zeros(series.shape[1:], bool)
    mask[2:9, 3:12] = True
    mask[5, 5] = False
    out = pipeline.run(
        NbAnalysis(offset=100.0),
        [stored],
        tmp_path / 'nb.h5',
        bleach=None,
        block=3,
        mask=mask,
        roi='1:10,2:13',
    )
    blocked = load_result(out, group='nb')
    whole = nb_whole(series, offset=100.0, mask=mask)
    assert_array_equal(blocked['y'].values, numpy.arange(1, 10))
    assert_array_equal(blocked['x'].values, numpy.arange(2, 13))
    expected = whole['epsilon'].values[1:10, 2:13]
    assert_allclose(blocked['epsilon'].values, expected, atol=1e-6)
    assert numpy.isnan(blocked['epsilon'].sel(y=5, x=5))


def test_nb_plan_frames():
    assert NbAnalysis(detrend=10).plan(105).used == 100
    assert NbAnalysis(detrend='filter:8').plan(64).used == 48
    assert NbAnalysis().min_frames == 4
    assert NbAnalysis(detrend=32).min_frames == 4
    assert NbAnalysis(detrend='filter:8').min_frames == 20
    with pytest.raises(ValueError, match='longer than the 16 frames'):
        NbAnalysis(detrend=32).plan(16)
    with pytest.raises(ValueError, match='detrend=1'):
        NbAnalysis(detrend=1)


@pytest.mark.parametrize(
    ('correlator', 'binning'),
    [('log', 1), ('multipletau', 1), ('log', 2), ('multipletau', 3)],
)
def test_acf_blocked_equals_whole(
    correlator, binning, stored, series, tmp_path
):
    analysis = AcfAnalysis(
        nbins=12,
        binning=binning,
        correlator=correlator,
        channels=8,
        offset=100.0,
    )
    out = run_acf(analysis, stored, tmp_path / 'acf.h5', bleach=None, block=2)
    blocked = load_result(out, group='acf')
    whole = acf_image(
        series,
        nbins=12,
        binning=binning,
        correlator=correlator,
        channels=8,
        offset=100.0,
    )
    assert_allclose(blocked['acf'].values, whole.values, atol=1e-6)
    assert_allclose(
        blocked['acf_zero'].values, whole['acf_zero'].values, atol=1e-6
    )
    if correlator == 'multipletau':
        assert_allclose(
            blocked['acf_error'].values, whole['acf_error'].values, atol=1e-6
        )
    for name in ('y', 'x', 'delay'):
        assert_allclose(blocked[name].values, whole[name].values)
    assert blocked.attrs['binning'] == binning
    assert blocked.attrs['offset'] == 100.0
    assert blocked.attrs['source'] == relative_source(stored, out)


def test_binned_acf_roi_and_mask(stored, series, tmp_path):
    """Binned pixels of the image grid inside the region and the mask."""
    mask = numpy.ones(series.shape[1:], bool)
    mask[4, 6] = False  # binned pixel (2, 3) is no longer whole
    analysis = AcfAnalysis(nbins=10, binning=2, offset=100.0)
    out = run_acf(
        analysis,
        stored,
        tmp_path / 'acf.h5',
        roi='1:11,3:12',
        mask=mask,
        bleach=None,
        block=3,
    )
    blocked = load_result(out, group='acf')
    whole = acf_image(series, nbins=10, binning=2, offset=100.0, mask=mask)
    # the region 1:11, 3:12 holds binned rows 1..4 and columns 2..5
    expected = whole.isel(y=slice(1, 5), x=slice(2, 6))
    assert_allclose(blocked['acf'].values, expected.values, atol=1e-6)
    assert_allclose(blocked['y'].values, expected['y'].values)
    assert_allclose(blocked['x'].values, expected['x'].values)
    assert numpy.isnan(blocked['acf'].sel(y=4.5, x=6.5)).all()
    assert blocked.attrs['roi'] == [2, 10, 4, 12]
    with pytest.raises(ValueError, match='no whole 2x2 binned pixel'):
        run_acf(analysis, stored, tmp_path / 'b.h5', roi='1:2,0:4')


def test_binned_series_reads_sums(series):
    view = BinnedSeries(series, 3)
    assert view.shape == (256, 3, 4)
    assert view.dtype == numpy.int64
    expected = (
        series[:, :9, :12]
        .astype(numpy.int64)
        .reshape(256, 3, 3, 4, 3)
        .sum(axis=(2, 4))
    )
    assert_array_equal(view[:, :, :], expected)
    assert_array_equal(view[5], expected[5])
    assert_array_equal(view[-1, 1:3, 2], expected[-1, 1:3, 2])
    assert_array_equal(view[10:20, 1:2, 1:4], expected[10:20, 1:2, 1:4])
    with pytest.raises(IndexError):
        view[::2]


class Interrupt(Exception):
    """Stands for Ctrl-C in the middle of a run."""


def interrupt_after(monkeypatch, cls, after):
    """Make cls.compute stop after `after` blocks; return the calls."""
    calls = []
    compute = cls.compute

    def stop_after(self, *args, **kwargs):
        if len(calls) == after:
            raise Interrupt
        calls.append(1)
        return compute(self, *args, **kwargs)

    monkeypatch.setattr(cls, 'compute', stop_after)
    return calls


@pytest.mark.parametrize('kind', ['nb', 'acf', 'acf-binned'])
def test_resume_after_an_interrupted_run(kind, stored, monkeypatch, tmp_path):
    binning = 2 if kind == 'acf-binned' else 1
    group = 'nb' if kind == 'nb' else 'acf'
    cls = {'nb': NbAnalysis, 'acf': AcfAnalysis}.get(kind, BinnedAcfAnalysis)

    def go(output, *, offset=100.0, **kwargs):
        options = {'bleach': None, 'block': 2, 'scheduler': 'synchronous'}
        if kind == 'nb':
            analysis = NbAnalysis(offset=offset, detrend=32)
            return pipeline.run(
                analysis, [stored], output, **options, **kwargs
            )
        analysis = AcfAnalysis(nbins=10, offset=offset, binning=binning)
        return run_acf(analysis, stored, output, **options, **kwargs)

    reference = load_result(go(tmp_path / 'ref.h5'), group=group)
    grid = reference[next(iter(reference.data_vars))].shape[:2]
    total = len(pipeline.plan_blocks(grid, 2))
    output = tmp_path / 'out.h5'
    with monkeypatch.context() as patch:
        interrupt_after(patch, cls, 3)
        with pytest.raises(Interrupt):
            go(output)
    assert not output.exists()
    with pytest.raises(InterruptedRunError):
        go(output)
    with pytest.raises(ValueError, match='cannot resume'):
        go(output, offset=99.0, resume=True)
    with monkeypatch.context() as patch:
        calls = interrupt_after(patch, cls, 10**6)
        go(output, resume=True)
    assert len(calls) == total - 3  # only the blocks left
    resumed = load_result(output, group=group)
    for key in reference.data_vars:
        assert_array_equal(resumed[key].values, reference[key].values)
    assert resumed.attrs['timings']['resumed_blocks'] == 3


def test_binned_analysis_labels_in_input_pixels():
    analysis = BinnedAcfAnalysis(AcfAnalysis(binning=2, offset=3.0))
    assert analysis.inner.offset == 12.0
    assert analysis.parameters()['offset'] == 3.0
    plan = analysis.plan(64)
    schema = analysis.schema(plan, (2, 3), (1, 2), dt=0.5, roi=[1, 3, 2, 5])
    assert_allclose(schema.coords['y'][1], [2.5, 4.5])
    assert_allclose(schema.coords['x'][1], [4.5, 6.5, 8.5])
    assert schema.attrs['roi'] == [2, 6, 4, 10]
    assert schema.attrs['binning'] == 2
