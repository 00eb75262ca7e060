"""Tests of the figures and report sections of imaging FCS and N&B.

Figures draw what they are given: the values in the axes are compared
with the maps, curves, fits and histograms of the library.

"""

import numpy
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import ipcf
from ipcf import plot
from ipcf.brightness import brightness_histogram, number_brightness
from ipcf.fcs import acf_image, fit_acf
from ipcf.plot import fcs as fcs_plot
from ipcf.plot.report import report_html

pytest.importorskip('matplotlib')


@pytest.fixture(scope='module')
def sim():
    return ipcf.simulate.free(shape=(512, 8, 10), diffusion=2.0, seed=7)


@pytest.fixture(scope='module')
def acf(sim):
    return acf_image(sim.data, nbins=12, offset=102.0, dt=1e-3)


@pytest.fixture(scope='module')
def acf_mt(sim):
    return acf_image(
        sim.data, offset=102.0, dt=1e-3, correlator='multipletau', channels=8
    )


@pytest.fixture(scope='module')
def fit(acf):
    return fit_acf(acf, pixel_size=0.1, w=0.25)


@pytest.fixture(scope='module')
def nb(sim):
    return number_brightness(sim.data, offset=100.0, gain=2.0, s_factor=3.0)


def images(fig):
    return [im for ax in fig.axes for im in ax.get_images()]


def test_fcs_maps_draw_the_maps(fit):
    fig = plot.fcs_maps(fit, ('N', 'D', 'chi2'))
    drawn = images(fig)
    assert len(drawn) == 3
    for image, key in zip(drawn, ('N', 'D', 'chi2'), strict=True):
        assert_array_equal(image.get_array().filled(numpy.nan), fit[key])
    median = numpy.nanmedian(fit['D'].values)
    assert fig.axes[1].get_title() == f'D, median {median:.3g}'
    # 10 pixels of 0.1 µm from the corner of pixel 0
    assert_allclose(drawn[0].get_extent(), (0.0, 1.0, 0.8, 0.0))


def test_fcs_maps_of_binned_pixels(sim):
    acf = acf_image(sim.data, nbins=10, offset=102.0, dt=1e-3, binning=2)
    fit = fit_acf(acf, pixel_size=0.1, w=0.25)
    drawn = images(plot.fcs_maps(fit))
    # 2 x 2 pixels of 0.1 µm: the 4 x 5 binned pixels span 0.8 x 1.0 µm
    assert_allclose(drawn[0].get_extent(), (0.0, 1.0, 0.8, 0.0))
    del fit.attrs['pixel_size']
    drawn = images(plot.fcs_maps(fit))
    # binned pixel centres 0.5, 2.5, ...: edges at -0.5 .. 9.5 pixels
    assert_allclose(drawn[0].get_extent(), (-0.5, 9.5, 7.5, -0.5))


def test_fcs_maps_reject(fit, nb):
    with pytest.raises(ValueError, match="'B_app' is not a map"):
        plot.fcs_maps(fit, ('B_app',))
    with pytest.raises(ValueError, match='not \\(y, x\\)'):
        plot.fcs_maps(fit, ('fit',))
    with pytest.raises(TypeError, match='expected the Dataset'):
        plot.fcs_maps(fit['N'])
    with pytest.raises(ValueError, match='2 maps to draw; 1 axes'):
        plot.fcs_maps(fit, axes=[None])


def test_acf_curve_draws_curve_fit_and_residuals(acf, fit):
    fig = plot.acf_curve(acf, 3, 4, fit=fit)
    top, bottom = fig.axes
    points, line = top.get_lines()[:2]
    expected = acf.sel(y=3, x=4).values
    assert_allclose(points.get_ydata(), expected)
    assert_allclose(points.get_xdata(), acf['delay'].values)
    model = fit['fit'].sel(y=3, x=4).values
    assert_allclose(line.get_ydata(), model)
    residual = bottom.get_lines()[0]
    assert_allclose(residual.get_ydata(), expected - model, atol=1e-7)
    label = top.get_legend().get_texts()[1].get_text()
    assert f'{float(fit["D"].sel(y=3, x=4)):.3g} µm²/s' in label
    assert top.get_xscale() == 'log'


def test_acf_curve_residuals_in_errors(acf_mt):
    fit = fit_acf(acf_mt, pixel_size=0.1, w=0.25)
    fig = plot.acf_curve(acf_mt, 2, 2, fit=fit)
    error = acf_mt['acf_error'].sel(y=2, x=2).values
    values = acf_mt.sel(y=2, x=2).values
    model = fit['fit'].sel(y=2, x=2).values
    residual = fig.axes[1].get_lines()[0].get_ydata()
    assert_allclose(residual, (values - model) / error, rtol=1e-5)
    assert fig.axes[1].get_ylabel() == 'residual / error'


def test_acf_curve_of_a_stored_dataset_without_fit(sim, tmp_path):
    path = ipcf.pipeline.run(
        ipcf.fcs.AcfAnalysis(nbins=12, offset=102.0),
        [sim.data],
        tmp_path / 'a.h5',
        bleach=None,
        block=4,
    )
    stored = ipcf.load_result(path, group='acf')
    fig = plot.acf_curve(stored, 1, 2)
    assert 'no fit' in fig.axes[1].texts[0].get_text()
    with pytest.raises(ValueError, match='outside the result'):
        plot.acf_curve(stored, 9, 2)


def test_brightness_scatter_draws_the_histogram_and_lines(nb):
    fig = plot.brightness_scatter(nb, bins=16, monomer=0.5)
    ax = fig.axes[0]
    mesh = ax.collections[0]
    counts = brightness_histogram(nb, bins=16)
    assert_array_equal(mesh.get_array().filled(0).reshape(16, 16), counts)
    levels = [line.get_ydata()[0] for line in ax.get_lines()]
    # S = 3 (no mobile molecules), S + G eps and S + 2 G eps with G = 2
    assert_allclose(levels, [3.0, 4.0, 5.0])
    default = plot.brightness_scatter(nb, bins=16).axes[0]
    median = numpy.nanmedian(nb['epsilon'].values)
    assert_allclose(default.get_lines()[1].get_ydata()[0], 3 + 2 * median)


def test_nb_maps(nb):
    drawn = images(plot.nb_maps(nb, ('B_app', 'n')))
    assert_array_equal(drawn[0].get_array().filled(numpy.nan), nb['B_app'])
    assert_array_equal(drawn[1].get_array().filled(numpy.nan), nb['n'])


def test_result_kind(acf, fit, nb, acf_mt):
    assert fcs_plot.result_kind(acf) == 'acf'
    assert fcs_plot.result_kind(acf.to_dataset()) == 'acf'
    assert fcs_plot.result_kind(fit) == 'fcs'
    assert fcs_plot.result_kind(nb) == 'nb'
    assert fcs_plot.result_kind(numpy.zeros(3)) is None
    assert fcs_plot.result_kind('missing.h5') is None


def test_draw_fits_an_acf_for_its_maps(acf, fit):
    fig = plot.draw(acf, 'maps', pixel_size=0.1, psf_radius=0.25)
    drawn = images(fig)
    assert_array_equal(drawn[1].get_array().filled(numpy.nan), fit['D'])
    fig = plot.draw(acf, 'acf', pixel=(2, 3), pixel_size=0.1, psf_radius=0.25)
    model = fig.axes[0].get_lines()[1].get_ydata()
    assert_allclose(model, fit['fit'].sel(y=2, x=3).values, rtol=1e-5)
    with pytest.raises(ValueError, match='pixel size and the PSF radius'):
        plot.draw(acf, 'maps')


def test_draw_refuses_kinds_of_other_results(acf, nb, sim):
    with pytest.raises(ValueError, match="'brightness' does not apply"):
        plot.draw(acf, 'brightness')
    with pytest.raises(ValueError, match="'acf' does not apply"):
        plot.draw(nb, 'acf')
    pcf = ipcf.pcf_image(sim.data, radius=1, npoints=4, nbins=6)
    with pytest.raises(ValueError, match='needs an ACF result'):
        plot.draw(pcf, 'acf')
    with pytest.raises(ValueError, match='needs an N&B result'):
        plot.draw(sim.data, 'brightness')
    with pytest.raises(ValueError, match="'mean' needs the image series"):
        plot.draw(nb, 'mean')


def test_report_sections_of_acf_and_nb(acf, nb, sim):
    text = report_html(acf, pixel_size=0.1, psf_radius=0.25, pixels=[(1, 2)])
    assert 'Imaging FCS report' in text
    assert 'Fit of N and D' in text
    assert 'ACF of pixel y=1, x=2 with fit and residuals' in text
    median = numpy.nanmedian(fit_acf(acf, pixel_size=0.1, w=0.25)['D'])
    assert f'{median:.4g}' in text
    text = report_html(acf)
    assert 'Fit: left out' in text
    assert 'Fit of N and D' not in text
    text = report_html(nb, data=sim.data)
    assert 'Number and brightness report' in text
    assert f'{numpy.nanmedian(nb["epsilon"]):.4g}' in text
    assert 'shape (T, H, W)' in text
    with pytest.raises(ValueError, match='outside the result'):
        report_html(acf, pixels=[(30, 1)])


def _labels(axis):
    return [t.get_text() for t in axis.get_ticklabels()]


def test_acf_curve_has_round_delays_with_units(acf, sim):
    fig = plot.acf_curve(acf, 3, 4)
    top, bottom = fig.axes
    delays = acf['delay'].values
    low, high = delays[delays > 0].min(), delays.max()
    decades = [10.0**e for e in range(-3, 2) if low <= 10.0**e <= high]
    assert decades == [1e-3, 1e-2, 1e-1]
    assert_allclose(bottom.get_xticks(), decades)
    assert _labels(bottom.xaxis) == ['1 ms', '10 ms', '100 ms']
    assert bottom.get_xlabel() == 'delay τ'
    assert_allclose(top.get_xticks(), decades)  # the panels agree
    assert top.get_xlabel() == ''
    # in frames: plain numbers, the unit in the label
    frames = acf_image(sim.data, nbins=12, offset=102.0)
    bottom = plot.acf_curve(frames, 3, 4).axes[1]
    assert _labels(bottom.xaxis) == ['1', '10', '100']
    assert bottom.get_xlabel() == 'delay τ (frames)'


def test_diffusion_law_has_round_delays_with_units():
    import xarray

    law = xarray.Dataset(
        {
            'tau_D': ('binning', [1.0e-3, 2.2e-3, 4.1e-3]),
            'tau_D_error': ('binning', [1e-4, 1e-4, 1e-4]),
        },
        coords={'binning': [1, 2, 3], 'area': ('binning', [0.07, 0.12, 0.2])},
        attrs={
            'intercept': -8e-4,
            'slope': 0.02,
            'D_eff': 2.0,
            'intercept_error': 1e-4,
        },
    )
    ax = ipcf.fcs.plot_diffusion_law(law).axes[0]
    ticks = ax.get_yticks()
    low, high = ax.get_ylim()
    # steps of 1, 2, 2.5 or 5 ms from the lowest tick to the highest
    assert low <= -8e-4 and high >= 4.2e-3
    assert low <= ticks.min() and ticks.max() <= high
    steps = numpy.diff(ticks)
    assert_allclose(steps, steps[0])
    assert any(numpy.isclose(steps[0], s) for s in (1e-3, 2e-3, 2.5e-3))
    assert _labels(ax.yaxis) == [
        '0' if v == 0 else f'{v * 1e3:g} ms' for v in ticks
    ]
    assert ax.get_ylabel() == 'τ_D'


def test_report_tables_give_units_a_column(acf, nb, sim):
    import html
    import re

    def units(document):
        cells = re.findall(
            r'<tr><th>([^<]*)</th><td>([^<]*)</td><td>([^<]*)</td></tr>',
            document,
        )
        return {html.unescape(k): html.unescape(u) for k, _, u in cells}

    found = units(report_html(acf, pixel_size=0.1, psf_radius=0.25))
    assert found['median D'] == 'µm²/s'
    assert found['median density'] == '1/µm²'
    assert found['median N'] == ''
    assert found['delays'] == 's'  # acf has dt=1e-3
    assert found['area'] == 'µm²'
    assert not any('(µm' in name for name in found)
    found = units(report_html(nb, data=sim.data))
    assert found['median intensity'] == 'counts'
