"""Tests of ipcf.imsd: Gaussian fits per delay and models of motion."""

import math

import numpy
import pytest
import xarray
from numpy.testing import assert_allclose

from ipcf.imsd import MODELS, fit_gaussians, fit_model, imsd, imsd_model
from ipcf.stics import stics

SHIFT = 8
GRID = numpy.arange(-SHIFT, SHIFT + 1, dtype=numpy.float64)
ETA, XI = numpy.meshgrid(GRID, GRID, indexing='ij')


def _gaussians(sigma2, centres=None, *, amplitude=None, baseline=0.0):
    """Return exact STICS-like Gaussians (ndelays, n, n) in pixels."""
    sigma2 = numpy.asarray(sigma2, numpy.float64)
    if centres is None:
        centres = numpy.zeros((len(sigma2), 2))
    if amplitude is None:
        amplitude = 1.0 / sigma2  # the mass of a spreading peak is kept
    out = []
    for s2, (cx, cy), a in zip(
        sigma2,
        centres,
        numpy.broadcast_to(amplitude, sigma2.shape),
        strict=True,
    ):
        r2 = (XI - cx) ** 2 + (ETA - cy) ** 2
        out.append(a * numpy.exp(-r2 / s2) + baseline)
    return numpy.stack(out)


def _as_stics(values, *, dt, pixel_size):
    lags = numpy.arange(len(values))
    return xarray.DataArray(
        values.astype(numpy.float32),
        name='stics',
        dims=('delay', 'eta', 'xi'),
        coords={
            'delay': ('delay', lags * dt),
            'lag': ('delay', lags),
            'eta': ('eta', GRID.astype(int)),
            'xi': ('xi', GRID.astype(int)),
        },
        attrs={'dt': dt, 'pixel_size': pixel_size},
    )


def test_fit_gaussians_known_variance_with_noise():
    """Noisy Gaussians of known variance, centre, amplitude and baseline."""
    rng = numpy.random.default_rng(0)
    sigma2 = numpy.array([3.0, 5.0, 8.0, 12.0])
    centres = numpy.array([[0.0, 0.0], [0.5, -0.3], [1.2, 0.7], [-2.0, 1.5]])
    values = _gaussians(sigma2, centres, amplitude=0.02, baseline=-0.001)
    values += rng.normal(0.0, 2e-5, values.shape)
    fits = fit_gaussians(values, lags=[1, 2, 3, 4], pixel_size=0.1)
    assert_allclose(fits['sigma2'], sigma2 * 0.01, rtol=0.01)
    assert_allclose(fits['centre_x'], centres[:, 0] * 0.1, atol=2e-3)
    assert_allclose(fits['centre_y'], centres[:, 1] * 0.1, atol=2e-3)
    assert_allclose(fits['amplitude'], 0.02, rtol=0.01)
    assert_allclose(fits['baseline'], -0.001, atol=2e-5)
    # the errors are those of the noise: the fits lie within a few
    z = (fits['sigma2'] - sigma2 * 0.01) / fits['sigma2_error']
    assert numpy.all(numpy.abs(z) < 5)
    assert numpy.all(fits['sigma2_error'] > 0)


def test_fit_gaussians_skips_photon_noise_at_delay_zero():
    values = _gaussians([4.0, 4.0])
    values[:, SHIFT, SHIFT] += 10.0  # a spike far above the peak
    fits = fit_gaussians(values, lags=[0, 1])
    assert fits['sigma2'][0] == pytest.approx(4.0, rel=1e-6)
    assert abs(fits['sigma2'][1] - 4.0) > 0.1  # at delay 1 it counts


def test_fit_gaussians_nan_and_flat():
    values = _gaussians([4.0, 4.0, 4.0])
    values[1, :3] = numpy.nan  # missing pairs are left out
    values[2] = 0.0  # no peak: no fit
    fits = fit_gaussians(values, lags=[1, 2, 3])
    assert fits['sigma2'][:2] == pytest.approx([4.0, 4.0], rel=1e-6)
    assert numpy.isnan(fits['sigma2'][2])
    with pytest.raises(ValueError, match='is not'):
        fit_gaussians(numpy.zeros((2, 4, 5)))
    with pytest.raises(ValueError, match='must be odd'):
        fit_gaussians(numpy.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match='3 values for 2 delays'):
        fit_gaussians(numpy.zeros((2, 5, 5)), lags=[0, 1, 2])


def test_imsd_model_values():
    """Hand-worked values of every model."""
    tau = numpy.array([0.0, 0.01, 0.04])
    assert_allclose(
        imsd_model(tau, sigma0=0.25, D=2.0), [0.0625, 0.1425, 0.3825]
    )
    assert_allclose(
        imsd_model(tau, model='anomalous', sigma0=0.0, D=1.0, alpha=0.5),
        [0.0, 0.4, 0.8],
    )
    # L²/3 (1 - exp(-1)) at tau = tau_c
    value = imsd_model([0.01], model='confined', sigma0=0.1, L=0.6, tau_c=0.01)
    assert value[0] == pytest.approx(0.01 + 0.12 * (1 - math.exp(-1)))


@pytest.mark.parametrize('model', MODELS)
def test_fit_model_recovers_parameters(model):
    """Each model fitted to its own curve, with 1 % noise."""
    rng = numpy.random.default_rng(3)
    tau = numpy.arange(40) * 1e-3
    truth = {
        'free': {'sigma0': 0.25, 'D': 1.5},
        'flow': {'sigma0': 0.25, 'D': 1.5},
        'anomalous': {'sigma0': 0.25, 'D': 1.5, 'alpha': 0.7},
        'confined': {'sigma0': 0.25, 'L': 0.4, 'tau_c': 0.008},
    }[model]
    s2 = imsd_model(tau, model=model, **truth)
    error = 0.01 * s2
    fits = {
        'sigma2': s2 + rng.normal(0.0, 1.0, s2.shape) * error,
        'sigma2_error': error,
        'centre_x': 0.02 + 30.0 * tau,
        'centre_y': -40.0 * tau,
        'centre_x_error': numpy.full(40, 1e-3),
        'centre_y_error': numpy.full(40, 1e-3),
    }
    fits['centre_x'] += rng.normal(0.0, 1e-3, 40)
    fits['centre_y'] += rng.normal(0.0, 1e-3, 40)
    params = fit_model(fits, tau, model=model)
    for name, value in truth.items():
        assert params[name] == pytest.approx(value, rel=0.05), name
        assert 0 < params[f'{name}_error'] < 0.05 * value, name
    assert params['used'].all()
    assert 0.3 < params['chi2'] < 3.0
    if model == 'confined':
        d = truth['L'] ** 2 / (12 * truth['tau_c'])
        assert params['D'] == pytest.approx(d, rel=0.05)
    if model == 'flow':
        assert params['vx'] == pytest.approx(30.0, rel=0.01)
        assert params['vy'] == pytest.approx(-40.0, rel=0.01)
        assert params['speed'] == pytest.approx(50.0, rel=0.01)
        expected = math.degrees(math.atan2(-40.0, 30.0))
        assert params['direction'] == pytest.approx(expected, abs=0.5)


def test_fit_model_leaves_out_bad_points():
    tau = numpy.arange(6) * 1e-3
    s2 = 0.0625 + 4.0 * tau
    error = numpy.full(6, 1e-4)
    s2[4] = numpy.nan
    error[5] = 10.0  # relative error above 0.5: not used
    params = fit_model({'sigma2': s2, 'sigma2_error': error}, tau)
    assert params['used'].tolist() == [True] * 4 + [False] * 2
    assert params['D'] == pytest.approx(1.0)
    with pytest.raises(ValueError, match='needs at least 4'):
        fit_model(
            {'sigma2': s2[:3], 'sigma2_error': error[:3]},
            tau[:3],
            model='anomalous',
        )


def test_imsd_of_stics_result_free_and_flow():
    """Exact spreading and moving Gaussians give back D and v."""
    dt, px = 1e-3, 0.1
    tau = numpy.arange(12) * dt
    sigma2 = (0.0625 + 4 * 2.0 * tau) / px**2
    centres = numpy.stack((tau * 50.0 / px, tau * 25.0 / px), axis=1)
    values = _gaussians(sigma2, centres)
    result = imsd(_as_stics(values, dt=dt, pixel_size=px), model='flow')
    assert float(result['D']) == pytest.approx(2.0, rel=1e-3)
    assert float(result['sigma0']) == pytest.approx(0.25, rel=1e-3)
    assert float(result['vx']) == pytest.approx(50.0, rel=1e-3)
    assert float(result['vy']) == pytest.approx(25.0, rel=1e-3)
    assert float(result['direction']) == pytest.approx(
        math.degrees(math.atan2(25, 50)), abs=0.01
    )
    assert_allclose(result['sigma2'], sigma2 * px**2, rtol=1e-4)
    assert_allclose(result['sigma2_fit'], sigma2 * px**2, rtol=1e-3)
    assert result['delay'].values[1] == pytest.approx(dt)
    assert result.attrs['model'] == 'flow'


def test_imsd_blocks_equal_imsd_of_each_block():
    """Local iMSD maps: each block as imsd of that block alone."""
    from ipcf import simulate

    sim = simulate.free(shape=(256, 24, 32), diffusion=2.0, seed=5)
    options = {
        'pixel_size': 0.1,
        'dt': 1e-3,
        'max_delay': 6,
        'max_shift': 5,
        'offset': 100.0,
    }
    maps = imsd(sim.data, block=12, step=10, **options)
    assert maps['D'].dims == ('y', 'x')
    assert maps['D'].shape == (2, 3)
    assert maps['sigma2'].shape == (2, 3, 7)
    assert maps['y'].values.tolist() == [5.5, 15.5]
    assert maps['x'].values.tolist() == [5.5, 15.5, 25.5]
    for j, y0 in enumerate((0, 10)):
        for i, x0 in enumerate((0, 10, 20)):
            alone = imsd(sim.data[:, y0 : y0 + 12, x0 : x0 + 12], **options)
            assert_allclose(maps['sigma2'][j, i], alone['sigma2'], rtol=1e-4)
            assert float(maps['D'][j, i]) == pytest.approx(
                float(alone['D']), rel=1e-4
            )
            block = sim.data[:, y0 : y0 + 12, x0 : x0 + 12]
            assert float(maps['mean'][j, i]) == pytest.approx(
                block.mean() - 100.0
            )


def test_imsd_of_series_equals_imsd_of_its_stics():
    from ipcf import simulate

    data = simulate.free(shape=(128, 16, 16), seed=1).data
    direct = imsd(data, max_delay=3, max_shift=4, pixel_size=0.2, dt=0.5)
    correlation = stics(data, max_delay=3, max_shift=4, pixel_size=0.2)
    twice = imsd(correlation, dt=0.5)
    assert_allclose(direct['sigma2'], twice['sigma2'])
    assert direct.attrs['pixel_size'] == 0.2
    assert direct.attrs['dt'] == 0.5


@pytest.mark.parametrize(
    ('kwargs', 'error', 'match'),
    [
        ({'model': 'hop'}, ValueError, "model='hop' is not one of"),
        ({'block': 3}, ValueError, 'block=3 must be >= 4'),
        ({'block': 40}, ValueError, 'must not exceed the image size'),
        ({'step': 2}, ValueError, 'step needs block'),
        ({'block': 8, 'step': 0}, ValueError, 'step=0 must be >= 1'),
        ({'pixel_size': -1.0}, ValueError, 'pixel_size=-1.0 must be > 0'),
        ({'dt': '1'}, TypeError, "dt='1' is not a real number"),
    ],
)
def test_imsd_errors(kwargs, error, match):
    data = numpy.random.default_rng(0).poisson(100.0, (64, 16, 16))
    with pytest.raises(error, match=match):
        imsd(data, max_delay=4, **kwargs)


def test_imsd_rejects_other_arrays():
    wrong = xarray.DataArray(numpy.zeros((2, 3, 3)), dims=('a', 'b', 'c'))
    with pytest.raises(ValueError, match='not those of a STICS result'):
        imsd(wrong)
    values = _as_stics(_gaussians([4.0, 5.0]), dt=1.0, pixel_size=1.0)
    with pytest.raises(ValueError, match='block needs the image series'):
        imsd(values, block=8)


def test_imsd_analysis_through_the_pipeline(tmp_path):
    """Blocked maps: every tile holds imsd of its window, in memory."""
    import ipcf
    from ipcf import pipeline
    from ipcf.imsd import ImsdAnalysis
    from ipcf.store import load_result

    sim = ipcf.simulate.free(shape=(192, 30, 34), diffusion=2.0, seed=8)
    path = ipcf.io.imwrite(tmp_path / 'free.h5', sim.data)
    options = {
        'max_delay': 5,
        'max_shift': 4,
        'offset': 100.0,
        'pixel_size': 0.1,
    }
    analysis = ImsdAnalysis(window=10, step=4, **options)
    assert analysis.halo == (7, 7)
    out = pipeline.run(
        analysis, [path], tmp_path / 'imsd.h5', bleach=None, block=8, dt=1e-3
    )
    maps = load_result(out, group='imsd')
    assert maps['D'].dims == ('y', 'x')
    assert maps['D'].shape == (30 - 14, 34 - 14)
    assert maps['y'].values[0] == 7
    assert maps['sigma2'].shape == (16, 20, 6)
    assert_allclose(maps['delay'], numpy.arange(6) * 1e-3)
    for ty, tx in ((0, 0), (4, 8), (8, 16), (12, 12)):
        # tile (ty, tx) of the grid: window of 10 centred on the tile
        y0, x0 = 7 + ty - 3, 7 + tx - 3
        alone = imsd(
            sim.data[:, y0 : y0 + 10, x0 : x0 + 10], dt=1e-3, **options
        )
        tile = maps.isel(y=slice(ty, ty + 4), x=slice(tx, tx + 4))
        assert_allclose(tile['D'], float(alone['D']), rtol=1e-4)
        assert_allclose(
            tile['sigma2'].values[0, 0], alone['sigma2'], rtol=1e-4
        )
        assert_allclose(
            tile['mean'],
            sim.data[:, y0 : y0 + 10, x0 : x0 + 10].mean() - 100.0,
            rtol=1e-5,
        )


def test_imsd_analysis_mask_and_errors():
    from ipcf.imsd import ImsdAnalysis

    data = numpy.random.default_rng(0).poisson(100.0, (64, 20, 20))
    mask = numpy.zeros((20, 20), bool)
    mask[:, :10] = True
    analysis = ImsdAnalysis(window=6, step=2, max_delay=3, max_shift=2)
    values = analysis.compute([data], analysis.plan(64), mask, num_threads=1)
    inner = mask[4:16, 4:16]
    assert numpy.isnan(values['D'][~inner]).all()
    assert values['mean'][inner] == pytest.approx(100.0, rel=0.05)
    with pytest.raises(ValueError, match='too small for window=6'):
        analysis.check_shape(8, 20)
    with pytest.raises(ValueError, match='at least 4 are needed'):
        analysis.plan(3)
    with pytest.raises(ValueError, match='step=7 must be <= 6'):
        ImsdAnalysis(window=6, step=7)
    assert analysis.parameters()['window'] == 6


def test_imsd_blocks_keep_their_stics():
    """Local maps keep each block's STICS; block_stics reads it back."""
    from ipcf import simulate
    from ipcf.imsd import block_stics

    sim = simulate.free(shape=(192, 24, 32), diffusion=2.0, seed=5)
    options = {
        'pixel_size': 0.1,
        'dt': 1e-3,
        'max_delay': 6,
        'max_shift': 4,
        'offset': 100.0,
    }
    maps = imsd(sim.data, block=12, step=10, keep_stics=100, **options)
    assert maps['stics'].dims == ('y', 'x', 'stics_delay', 'eta', 'xi')
    assert maps['stics_lag'].values.tolist() == list(range(7))
    for j, y0 in enumerate((0, 10)):
        for i, x0 in enumerate((0, 10, 20)):
            window = sim.data[:, y0 : y0 + 12, x0 : x0 + 12]
            alone = stics(window, **options)
            # any pixel of the block nearest its centre
            g = block_stics(maps, (y0 + 6, x0 + 4))
            assert g.attrs['block_origin'] == [y0, x0]
            assert_allclose(g, alone, rtol=1e-5, atol=1e-9)
            assert_allclose(g['delay'], alone['delay'])
            # the kept STICS is what the maps were fitted to
            refit = imsd(g)
            assert float(refit['D']) == pytest.approx(
                float(maps['D'][j, i]), rel=1e-6
            )
    # a count spreads from delay 0; delays in frames are kept as given
    few = imsd(sim.data, block=12, step=10, **options)
    assert few['stics_lag'].values.tolist() == [0, 2, 3, 4, 6]
    assert_allclose(few['stics'], maps['stics'][:, :, [0, 2, 3, 4, 6]])
    chosen = imsd(sim.data, block=12, step=10, keep_stics=[5, 1], **options)
    assert chosen['stics_lag'].values.tolist() == [1, 5]
    none = imsd(sim.data, block=12, step=10, keep_stics=0, **options)
    assert 'stics' not in none.data_vars
    with pytest.raises(ValueError, match='keep no STICS'):
        block_stics(none, (5, 5))
    with pytest.raises(ValueError, match='in no block of the maps'):
        block_stics(maps, (40, 5))
    with pytest.raises(ValueError, match=r'delays \[9\] that are not'):
        imsd(sim.data, block=12, keep_stics=[1, 9], **options)
    with pytest.raises(ValueError, match='keep_stics=-1 must be >= 0'):
        imsd(sim.data, block=12, keep_stics=-1, **options)


@pytest.mark.parametrize('block', [8, 7])
def test_imsd_analysis_keeps_the_stics_of_every_tile(tmp_path, block):
    """The store holds every tile's STICS, also of tiles cut short."""
    import ipcf
    from ipcf import pipeline
    from ipcf.imsd import ImsdAnalysis, block_stics
    from ipcf.store import load_result

    sim = ipcf.simulate.free(shape=(128, 26, 29), diffusion=2.0, seed=8)
    path = ipcf.io.imwrite(tmp_path / 'free.h5', sim.data)
    options = {'max_delay': 5, 'max_shift': 3, 'offset': 100.0}
    lags = [0, 2, 5]
    analysis = ImsdAnalysis(window=10, step=4, keep_stics=lags, **options)
    out = pipeline.run(
        analysis, [path], tmp_path / 'i.h5', bleach=None, block=block, dt=0.5
    )
    maps = load_result(out, group='imsd')
    ny, nx = maps['D'].shape  # 12 x 15 from 7
    # tiles of 4 from each pipeline block's corner, by hand
    spans = {
        8: ([0, 4, 8, 12], [0, 4, 8, 12, 15]),
        7: ([0, 4, 7, 11, 12], [0, 4, 7, 11, 14, 15]),
    }[block]
    per_tile = len(lags) * 7 * 7
    rows, cols = (numpy.diff(s) for s in spans)
    assert maps['stics_tile'].shape == (
        ny,
        nx,
        -(-per_tile // (rows.min() * cols.min())),
    )
    for ty, rows_ in zip(spans[0], rows, strict=False):
        for tx, cols_ in zip(spans[1], cols, strict=False):
            # the window of 10 centred on a tile of 4: 3 before it
            y0, x0 = 7 + ty - 3, 7 + tx - 3
            window = sim.data[:, y0 : y0 + 10, x0 : x0 + 10]
            expected = stics(window, dt=0.5, **options).sel(delay=[0, 1, 2.5])
            for py, px in ((ty, tx), (ty + rows_ - 1, tx + cols_ - 1)):
                g = block_stics(maps, (7 + py, 7 + px))
                assert g.attrs['block_origin'] == [y0, x0]
                assert_allclose(g, expected, rtol=1e-5, atol=1e-9)
                assert_allclose(g['delay'], [0, 1, 2.5])
    assert maps.attrs['keep_stics'] == lags
    with pytest.raises(ValueError, match='is not in the maps'):
        block_stics(maps, (6, 7))
