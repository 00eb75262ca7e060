"""Tests of ipcf.fcs: per-pixel ACF, imaging FCS fits, diffusion law."""

import math

import numpy
import pytest
import xarray
from numpy.testing import assert_allclose, assert_array_equal

from ipcf import engines, pipeline
from ipcf._fcs_model import pixel_factor
from ipcf.fcs import (
    AcfAnalysis,
    _line,
    acf_image,
    acf_model,
    diffusion_law,
    effective_area,
    fit_acf,
    plot_diffusion_law,
)
from ipcf.plan import average_bins, bin_delays, logbins

# Blocked and whole results are the same float32 sums, but BLAS picks its
# kernels by the size of each product, and kernels round differently:
# they agree within 1e-6 plus a few float32 roundings of G, not to the bit
FLOAT32 = {'rtol': 4e-6, 'atol': 1e-6}


@pytest.fixture(scope='module')
def series():
    """Correlated counts ~100: Poisson noise on a smoothed random walk."""
    rng = numpy.random.default_rng(7)
    rate = 100.0 + numpy.cumsum(rng.normal(0, 1, (200, 7, 8)), axis=0)
    rate -= rate.mean(axis=0) - 100.0
    return rng.poisson(numpy.clip(rate, 1, None)).astype(numpy.uint16)


def direct_acf(data, edges, offset=0.0):
    """The Notes' formula with plain numpy: linear sums, bins, scale."""
    data = numpy.asarray(data, dtype=numpy.float64)
    n = data.shape[0]
    mean = data.mean(axis=0)
    da = data - mean
    curves = numpy.stack(
        [(da[: n - k] * da[k:]).sum(axis=0) for k in range(n // 2)], axis=-1
    ) / (n * (mean - offset)[..., None] ** 2)
    binned = average_bins(curves, edges)
    lags = bin_delays(edges)
    return binned[..., 1:] * n / (n - lags[1:]), binned[..., 0]


def block_sum(data, n):
    t, h, w = data.shape
    h, w = h // n * n, w // n * n
    part = data[:, :h, :w].astype(numpy.int64)
    return part.reshape(t, h // n, n, w // n, n).sum(axis=(2, 4))


@pytest.mark.parametrize('engine', ['reference', 'cpu', 'gpu'])
def test_acf_image_equals_direct_formula(engine, series):
    if engine not in engines.available():
        pytest.skip(f'{engine} engine not available')
    before = series.copy()
    acf = acf_image(series, nbins=12, dt=0.5, engine=engine)
    edges = logbins(series.shape[0] // 2, 12)
    expected, zero = direct_acf(series, edges)
    assert acf.dtype == numpy.float32
    assert acf.dims == ('y', 'x', 'delay')
    assert acf.name == 'acf'
    assert_allclose(acf.values, expected, rtol=1e-4, atol=1e-7)
    assert_allclose(acf['acf_zero'].values, zero, rtol=1e-4)
    assert_allclose(acf['delay'].values, bin_delays(edges)[1:] * 0.5)
    assert_array_equal(acf['bin_edge'].values, edges[1:])
    assert acf.attrs['dt'] == 0.5
    assert acf.attrs['frames'] == 200
    assert acf.attrs['engine'] == engine
    assert_array_equal(series, before)


def test_gpu_arithmetic_on_numpy_runs_the_acf_plan(series):
    """The GPU engine's array-module path takes the offset-0 plan too."""
    from ipcf._rows import RowReader
    from ipcf.engines import gpu, reference

    plan = AcfAnalysis(nbins=12, offset=1.0).plan(series.shape[0])
    engine_plan = plan.engine_plan
    shape = engine_plan.out_shape(series.shape[1:])
    result = numpy.full(shape, numpy.nan, numpy.float32)
    expected = result.copy()
    gpu._compute(numpy, engine_plan, RowReader([series], 200), result)
    reference.compute(engine_plan, RowReader([series], 200), expected)
    assert_allclose(result, expected, rtol=0, atol=1e-6)


def test_acf_zero_is_relative_variance(series):
    acf = acf_image(series, nbins=8)
    data = series.astype(numpy.float64)
    assert_allclose(
        acf['acf_zero'].values,
        data.var(axis=0) / data.mean(axis=0) ** 2,
        rtol=1e-4,
    )


def test_acf_image_offset_normalises_by_mean_less_offset(series):
    shifted = series.astype(numpy.float64) + 250.0
    assert_allclose(
        acf_image(shifted, nbins=8, offset=250.0).values,
        acf_image(series, nbins=8).values,
        rtol=1e-4,
        atol=1e-8,
    )
    dark = acf_image(series, nbins=8, offset=1e4)
    assert numpy.isnan(dark.values).all()


@pytest.mark.parametrize('n', [2, 3, 5])
def test_acf_image_binning_sums_blocks(n, series):
    acf = acf_image(series, nbins=8, binning=n, offset=1.0)
    expected = acf_image(block_sum(series, n), nbins=8, offset=n * n * 1.0)
    assert acf.shape[:2] == (7 // n, 8 // n)
    assert_allclose(acf.values, expected.values, rtol=1e-4, atol=1e-8)
    assert acf.attrs['binning'] == n
    assert acf.attrs['cropped'] == [7 % n, 8 % n]
    # coordinates: input pixel of each block's centre
    assert_allclose(acf['y'].values, n * numpy.arange(7 // n) + (n - 1) / 2)


def test_acf_image_mask_with_binning(series):
    mask = numpy.ones(series.shape[1:], bool)
    mask[0, 0] = False
    acf = acf_image(series, nbins=8, binning=2, mask=mask)
    assert numpy.isnan(acf.values[0, 0]).all()
    assert numpy.isnan(acf['acf_zero'].values[0, 0])
    assert numpy.isfinite(acf.values[1:]).all()
    with pytest.raises(ValueError, match='selects no pixel'):
        acf_image(series, binning=2, mask=~mask & False)


def test_multipletau_equals_multipletau_package(series):
    multipletau = pytest.importorskip('multipletau')
    acf = acf_image(series, correlator='multipletau', channels=8, dt=1e-3)
    assert acf.dims == ('y', 'x', 'delay')
    assert acf['acf_error'].dims == ('y', 'x', 'delay')
    for y, x in [(0, 0), (3, 5), (6, 7)]:
        trace = series[:, y, x].astype(numpy.float64)
        ref = multipletau.autocorrelate(trace, m=8, normalize=True)
        lags = acf['lag'].values
        index = numpy.searchsorted(ref[:, 0], lags)
        assert_array_equal(ref[index, 0], lags)
        assert_allclose(acf.values[y, x], ref[index, 1], rtol=1e-5)
        assert_allclose(acf['acf_zero'].values[y, x], ref[0, 1], rtol=1e-5)
    assert_allclose(acf['delay'].values, acf['lag'].values * 1e-3)


def test_multipletau_errors_match_spread_of_white_noise():
    data = numpy.random.default_rng(3).poisson(50, (1024, 16, 16))
    acf = acf_image(data, correlator='multipletau')
    spread = acf.values.std(axis=(0, 1))
    error = acf['acf_error'].values.mean(axis=(0, 1))
    # blocking takes the largest block estimate: close, a little above
    assert_allclose(error[:16] / spread[:16], 1.0, atol=0.3)


def test_acf_image_lazy_input_equals_array(series, tmp_path):
    h5py = pytest.importorskip('h5py')
    with h5py.File(tmp_path / 's.h5', 'w') as f:
        f['data'] = series
    with h5py.File(tmp_path / 's.h5', 'r') as f:
        for corr in ('log', 'multipletau'):
            lazy = acf_image(f['data'], binning=2, correlator=corr)
            whole = acf_image(series, binning=2, correlator=corr)
            assert_array_equal(lazy.values, whole.values)


@pytest.mark.parametrize('correlator', ['log', 'multipletau'])
def test_pipeline_runs_acf_analysis(correlator, series, tmp_path):
    tifffile = pytest.importorskip('tifffile')
    path = tmp_path / 'series.tif'
    tifffile.imwrite(path, series)
    analysis = AcfAnalysis(nbins=12, correlator=correlator, channels=8)
    out = pipeline.run(
        analysis, [str(path)], tmp_path / 'acf.h5', bleach=None, block=3
    )
    from ipcf.store import load_result

    stored = load_result(out, group='acf')
    whole = acf_image(series, nbins=12, correlator=correlator, channels=8)
    assert_allclose(stored['acf'].values, whole.values, **FLOAT32)
    assert_allclose(
        stored['acf_zero'].values, whole['acf_zero'].values, **FLOAT32
    )
    if correlator == 'multipletau':
        assert_allclose(stored['acf_error'].values, whole['acf_error'].values)
    assert_allclose(stored['delay'].values, whole['delay'].values)
    before = dict(stored['acf'].attrs)
    fit = fit_acf(stored, pixel_size=0.1, w=0.25)
    assert fit['D'].shape == (7, 8)
    assert fit.attrs['weights'] == (
        'errors' if correlator == 'multipletau' else 'equal'
    )
    assert dict(stored['acf'].attrs) == before


def test_pipeline_refuses_binning(series, tmp_path):
    with pytest.raises(ValueError, match='binning=1'):
        pipeline.run(
            AcfAnalysis(binning=2), [series], tmp_path / 'a.h5', bleach=None
        )


@pytest.mark.parametrize(
    ('kwargs', 'error', 'match'),
    [
        ({'binning': 0}, ValueError, 'binning=0'),
        ({'binning': 8}, ValueError, 'too small for binning=8'),
        ({'binning': 1.5}, TypeError, 'binning=1.5'),
        ({'nbins': 2}, ValueError, 'nbins=2'),
        ({'correlator': 'fft'}, ValueError, "correlator='fft'"),
        ({'correlator': 'multipletau', 'channels': 7}, ValueError, 'even'),
        ({'offset': -1.0}, ValueError, 'offset=-1.0'),
        ({'dt': 0.0}, ValueError, 'dt=0.0'),
        ({'engine': 'none'}, ValueError, "engine='none'"),
    ],
)
def test_acf_image_rejects_bad_options(kwargs, error, match, series):
    with pytest.raises(error, match=match):
        acf_image(series, **kwargs)


def test_acf_image_rejects_bad_data(series):
    with pytest.raises(ValueError, match='frames'):
        acf_image(series[:8])
    with pytest.raises(ValueError, match='frames'):
        acf_image(series[:20], correlator='multipletau')
    with pytest.raises(ValueError, match='3-D'):
        acf_image(series[0])
    bad = series.astype(numpy.float64)
    bad[3, 1, 1] = numpy.nan
    for corr in ('log', 'multipletau'):
        with pytest.raises(ValueError, match='NaN'):
            acf_image(bad, correlator=corr)


def test_pixel_factor_and_effective_area_limits():
    q = numpy.array([1e-3, 0.4, 50.0])
    assert_allclose(pixel_factor(q)[0], 1e-3 / math.sqrt(math.pi), rtol=1e-6)
    # erf(0.4) + (exp(-0.16) - 1) / (sqrt(pi) 0.4), by hand
    assert_allclose(pixel_factor(q)[1], 0.428392 - 0.208548, atol=1e-5)
    assert_allclose(pixel_factor(q)[2], 1.0 - 1 / (50 * math.sqrt(math.pi)))
    w = 0.25
    small = effective_area(pixel_size=1e-3, w=w)
    assert_allclose(small, math.pi * w * w, rtol=1e-4)
    large = effective_area(pixel_size=100.0, w=w)
    # f(q) ~ 1 - 1 / (sqrt(pi) q) for a large pixel
    expected = 100.0**2 * (1 + 2 * w / (100 * math.sqrt(math.pi)))
    assert_allclose(large, expected, rtol=1e-4)


def test_acf_model_limits():
    tau = numpy.array([0.0, 1e-3, 1e-2, 0.1])
    d, w, n = 2.0, 0.25, 3.0
    # a tiny pixel is classical 2-D FCS
    small = acf_model(tau, diffusion=d, number=n, pixel_size=1e-4, w=w)
    assert_allclose(small, 1 / n / (1 + 4 * d * tau / w**2), rtol=1e-6)
    two = acf_model(tau, diffusion=d, number=n, pixel_size=0.2, w=w)
    spim = acf_model(
        tau, diffusion=d, number=n, pixel_size=0.2, w=w, w_z=0.8, g_inf=1e-3
    )
    assert_allclose(
        spim, two / numpy.sqrt(1 + 4 * d * tau / 0.8**2) + 1e-3, rtol=1e-12
    )
    assert two[0] == pytest.approx(1 / n)
    with pytest.raises(ValueError, match='delay'):
        acf_model([-1.0], diffusion=d, number=n, pixel_size=0.2, w=w)


def model_acf(lag, curves, **attrs):
    shape = curves.shape
    return xarray.DataArray(
        curves.astype(numpy.float32),
        dims=('y', 'x', 'delay'),
        coords={
            'y': numpy.arange(shape[0]),
            'x': numpy.arange(shape[1]),
            'delay': lag,
        },
        name='acf',
        attrs=attrs,
    )


LAG = bin_delays(logbins(4096, 32))[1:] * 1e-4


@pytest.mark.parametrize(
    ('model', 'w_z', 'binning'), [('2d', None, 1), ('spim', 1.0, 3)]
)
def test_fit_acf_recovers_model_parameters(model, w_z, binning):
    truth = numpy.array([[0.5, 2.0, 8.0], [1.0, 5.0, 20.0]])  # N per pixel
    diffusion = numpy.array([[0.3, 1.0, 3.0], [10.0, 30.0, 2.0]])
    curves = numpy.stack(
        [
            numpy.stack(
                [
                    acf_model(
                        LAG,
                        diffusion=diffusion[i, j],
                        number=truth[i, j],
                        pixel_size=0.1 * binning,
                        w=0.3,
                        w_z=w_z,
                        g_inf=-1e-3,
                    )
                    for j in range(3)
                ]
            )
            for i in range(2)
        ]
    )
    acf = model_acf(LAG, curves, binning=binning)
    fit = fit_acf(acf, pixel_size=0.1, w=0.3, model=model, w_z=w_z)
    assert_allclose(fit['N'].values, truth, rtol=1e-4)
    assert_allclose(fit['D'].values, diffusion, rtol=1e-4)
    assert_allclose(fit['G_inf'].values, -1e-3, atol=1e-6)
    assert_allclose(fit['fit'].values, curves, rtol=1e-4, atol=1e-7)
    area = effective_area(pixel_size=0.1 * binning, w=0.3)
    size = area if w_z is None else area * math.sqrt(math.pi) * w_z
    assert_allclose(fit['density'].values, truth / size, rtol=1e-4)
    assert fit.attrs['side'] == pytest.approx(0.1 * binning)
    assert fit.attrs['area'] == pytest.approx(area)


def test_fit_acf_two_components():
    curves = (
        numpy.stack(
            [
                0.6 * acf_model(LAG, diffusion=0.2, number=1.0, **OPT)
                + 0.4 * acf_model(LAG, diffusion=20.0, number=1.0, **OPT)
                for _ in range(4)
            ]
        ).reshape(2, 2, -1)
        / 2.0
    )
    fit = fit_acf(model_acf(LAG, curves), components=2, **OPT)
    assert_allclose(fit['N'].values, 2.0, rtol=1e-3)
    assert_allclose(fit['D'].values, 0.2, rtol=1e-3)
    assert_allclose(fit['D2'].values, 20.0, rtol=1e-3)
    assert_allclose(fit['F2'].values, 0.4, rtol=1e-3)
    assert numpy.isfinite(fit['F2_error'].values).all()


OPT = {'pixel_size': 0.1, 'w': 0.25}


def test_fit_acf_errors_follow_the_noise():
    """Weighted fits of noisy curves: pulls of spread 1, chi2 near 1."""
    rng = numpy.random.default_rng(0)
    clean = acf_model(LAG, diffusion=2.0, number=4.0, **OPT)
    sigma = 0.004 / numpy.sqrt(1 + numpy.arange(LAG.size))
    noisy = clean + rng.normal(0, 1, (20, 20, LAG.size)) * sigma
    acf = model_acf(LAG, noisy)
    acf.coords['acf_error'] = (
        ('y', 'x', 'delay'),
        numpy.broadcast_to(sigma, noisy.shape).astype(numpy.float32),
    )
    fit = fit_acf(acf, **OPT)
    assert fit.attrs['weights'] == 'errors'
    pull = (fit['D'].values - 2.0) / fit['D_error'].values
    assert abs(numpy.median(fit['D'].values) / 2.0 - 1) < 0.02
    assert 0.8 < pull.std() < 1.2
    assert 0.85 < float(fit['chi2'].median()) < 1.15
    # equal weights: errors scaled by the residuals, right for equal noise
    same = clean + rng.normal(0, 0.002, noisy.shape)
    acf = model_acf(LAG, same)
    unweighted = fit_acf(acf, weights='none', **OPT)
    assert unweighted.attrs['weights'] == 'equal'
    pull = (unweighted['N'].values - 4.0) / unweighted['N_error'].values
    assert 0.8 < pull.std() < 1.2
    assert_allclose(float(unweighted['chi2'].median()), 0.002**2, rtol=0.2)


def test_fit_acf_nan_pixels_and_range():
    curves = numpy.tile(
        acf_model(LAG, diffusion=1.0, number=2.0, **OPT), (2, 2, 1)
    )
    curves[0, 1, 3] = numpy.nan
    fit = fit_acf(model_acf(LAG, curves), **OPT)
    assert numpy.isnan(fit['D'].values[0, 1])
    assert numpy.isnan(fit['fit'].values[0, 1]).all()
    assert_allclose(fit['D'].values[1], 1.0, rtol=1e-4)
    # the NaN point (delay 4e-4 s) lies outside this range
    inner = fit_acf(model_acf(LAG, curves), fit_range=(1e-3, 0.1), **OPT)
    assert_allclose(inner['D'].values, 1.0, rtol=1e-4)
    assert inner.attrs['fit_range'] == [1e-3, 0.1]


@pytest.mark.parametrize(
    ('kwargs', 'error', 'match'),
    [
        ({'model': 'spim'}, ValueError, 'needs w_z'),
        ({'w_z': 1.0}, ValueError, "for model='spim'"),
        ({'model': '3d'}, ValueError, "model='3d'"),
        ({'components': 3}, ValueError, 'components=3'),
        ({'fit_range': (0.1, 0.01)}, ValueError, 'max > min'),
        ({'fit_range': 0.1}, TypeError, 'pair'),
        ({'fit_range': (1.0, 2.0)}, ValueError, 'delays are in the fit'),
        ({'weights': 'sigma'}, ValueError, "weights='sigma'"),
        ({'w': 0.0}, ValueError, 'w=0.0'),
    ],
)
def test_fit_acf_rejects_bad_options(kwargs, error, match):
    acf = model_acf(LAG, numpy.ones((1, 1, LAG.size)))
    options = {**OPT, **kwargs}
    with pytest.raises(error, match=match):
        fit_acf(acf, **options)


def test_fit_acf_rejects_other_results():
    with pytest.raises(TypeError, match='acf_image'):
        fit_acf(numpy.ones((2, 2, 8)), **OPT)
    with pytest.raises(ValueError, match='dims'):
        fit_acf(xarray.DataArray(numpy.ones((2, 8))), **OPT)
    with pytest.raises(ValueError, match='"acf"'):
        fit_acf(xarray.Dataset({'pcf': (('y',), [1.0])}), **OPT)


def test_line_fit_by_hand():
    area = numpy.array([0.2, 0.3, 0.5])
    line = _line(area, 0.01 + 0.25 * area, numpy.full(3, 1e-3))
    assert line['intercept'] == pytest.approx(0.01)
    assert line['slope'] == pytest.approx(0.25)
    assert line['D_eff'] == pytest.approx(4.0)


def test_diffusion_law_and_figure(series):
    law = diffusion_law(
        series, pixel_size=0.1, w=0.25, binnings=(1, 2, 3), nbins=12
    )
    assert law['tau_D'].dims == ('binning',)
    assert law['binning'].values.tolist() == [1, 2, 3]
    assert_allclose(
        law['area'].values,
        [effective_area(pixel_size=0.1 * n, w=0.25) for n in (1, 2, 3)],
    )
    assert law['pixels'].values.tolist()[1:] == [12, 4]
    for key in ('intercept', 'slope', 'D_eff', 'intercept_error'):
        assert key in law.attrs
    pytest.importorskip('matplotlib')
    fig = plot_diffusion_law(law)
    assert fig.axes[0].get_xlabel() == 'A_eff (µm²)'
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    assert plot_diffusion_law(law, ax=ax) is ax.figure


def test_diffusion_law_rejects_bad_binnings(series):
    with pytest.raises(ValueError, match='two distinct'):
        diffusion_law(series, pixel_size=0.1, w=0.25, binnings=(2, 2))
    with pytest.raises(TypeError, match='sequence'):
        diffusion_law(series, pixel_size=0.1, w=0.25, binnings=3)
    with pytest.raises(ValueError, match='larger than'):
        diffusion_law(series, pixel_size=0.1, w=0.25, binnings=(1, 9))
