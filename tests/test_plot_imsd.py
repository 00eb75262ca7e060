"""Tests of the figures of STICS and iMSD results.

Figures draw what they are given: the values in the axes are compared
with the result's variables.

"""

import numpy
import pytest
from numpy.testing import assert_allclose

from ipcf import simulate
from ipcf.imsd import imsd
from ipcf.plot.imsd import imsd_curve, imsd_maps, stics_images
from ipcf.stics import stics

pytest.importorskip('matplotlib')


@pytest.fixture(scope='module')
def sim():
    velocity = (40.0, -20.0)
    return simulate.flow(
        shape=(512, 24, 24), velocity=velocity, diffusion=1.0, seed=3
    )


@pytest.fixture(scope='module')
def correlation(sim):
    return stics(
        sim.data,
        max_delay=8,
        max_shift=8,
        offset=100.0,
        dt=1e-3,
        pixel_size=0.1,
    )


def test_imsd_curve_draws_points_and_fit(correlation):
    result = imsd(correlation)
    fig = imsd_curve(result, models=['anomalous', 'confined'])
    ax = fig.axes[0]
    used = result['used'].values
    points = ax.containers[0].lines[0].get_xydata()
    assert_allclose(points[:, 0], result['delay'].values[used])
    assert_allclose(points[:, 1], result['sigma2'].values[used])
    lines = [line for line in ax.get_lines() if line.get_linestyle() == '-']
    assert_allclose(lines[-1].get_ydata(), result['sigma2_fit'])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    prefixes = sorted(label.split(':')[0] for label in labels)
    assert prefixes == ['Gaussian fits', 'anomalous', 'confined', 'free']
    assert f'D={float(result["D"]):.3g}' in ' '.join(labels)


def test_imsd_curve_flow_draws_centres(correlation):
    result = imsd(correlation, model='flow')
    fig = imsd_curve(result)
    assert len(fig.axes) == 2
    centre = fig.axes[1].containers[0].lines[0].get_xydata()
    used = result['used'].values
    assert_allclose(centre[:, 1], result['centre_x'].values[used])
    assert 'speed' in fig.axes[1].get_title()


def test_stics_images(correlation):
    fig = stics_images(correlation, [0, 3, 8])
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 3
    assert_allclose(images[1].get_array(), correlation[3])
    # shifts in µm from the recorded pixel size, pixel centres at 0.1 * k
    assert images[0].get_extent()[0] == pytest.approx(-8.5 * 0.1)
    assert fig.axes[0].get_xlabel() == 'ξ (µm)'
    default = stics_images(correlation)
    titles = [ax.get_title() for ax in default.axes if ax.images]
    assert len(titles) == 4 and titles[0] == 'G, delay 1 ms'


@pytest.fixture(scope='module')
def maps(sim):
    return imsd(
        sim.data,
        pixel_size=0.1,
        dt=1e-3,
        max_delay=6,
        offset=100.0,
        block=12,
        step=6,
    )


def test_imsd_maps(maps):
    fig = imsd_maps(maps)
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 2
    assert_allclose(images[0].get_array(), maps['D'])
    assert fig.axes[0].get_title().startswith('D, median')
    fig = imsd_maps(maps, ['sigma0', 'chi2'])
    assert numpy.ma.allclose(
        [ax.images[0].get_array() for ax in fig.axes if ax.images][1],
        maps['chi2'],
    )


def test_plot_errors(correlation, maps):
    result = imsd(correlation)
    with pytest.raises(TypeError, match='expected the Dataset'):
        imsd_curve(correlation)
    with pytest.raises(ValueError, match="models='hop'"):
        imsd_curve(result, models=['hop'])
    with pytest.raises(ValueError, match='delay index 9 is not in 0..8'):
        stics_images(correlation, [9])
    with pytest.raises(TypeError, match='expected the DataArray'):
        stics_images(result)
    with pytest.raises(ValueError, match="'L' is not a map"):
        imsd_maps(maps, ['L'])
    with pytest.raises(ValueError, match='draw them with imsd_maps'):
        imsd_curve(maps)


def _labels(axis):
    return [t.get_text() for t in axis.get_ticklabels()]


def test_imsd_curve_delay_axis_has_round_delays_with_units(correlation):
    fig = imsd_curve(imsd(correlation, model='flow'))
    # delays 0 to 8 ms on linear axes: steps of 2 ms, each with its unit
    for ax in fig.axes:
        assert_allclose(ax.get_xticks(), [0, 2e-3, 4e-3, 6e-3, 8e-3])
        assert _labels(ax.xaxis) == ['0', '2 ms', '4 ms', '6 ms', '8 ms']
        assert ax.get_xlabel() == 'delay'
        assert ax.get_xscale() == 'linear'
    # in frames: plain numbers and the unit in the label
    frames = correlation.copy()
    frames.attrs = {**frames.attrs, 'dt': 1.0}
    frames['delay'] = frames['lag'].astype(float)
    ax = imsd_curve(imsd(frames)).axes[0]
    assert _labels(ax.xaxis) == ['0', '2', '4', '6', '8']
    assert ax.get_xlabel() == 'delay (frames)'


def test_linear_delay_ticks_hand_worked():
    from ipcf.plot._common import linear_delay_ticks

    ticks = linear_delay_ticks(0.0, 4e-4, 's')
    assert [text for _, text in ticks] == [
        '0',
        '100 µs',
        '200 µs',
        '300 µs',
        '400 µs',
    ]
    ticks = linear_delay_ticks(-2e-3, 7e-3, 's')
    assert [text for _, text in ticks] == [
        '-2 ms',
        '0',
        '2 ms',
        '4 ms',
        '6 ms',
    ]
    assert linear_delay_ticks(0.0, 0.0, 's') == []
    assert [t for t, _ in linear_delay_ticks(0, 2.5, 's')] == [
        0.0,
        0.5,
        1.0,
        1.5,
        2.0,
        2.5,
    ]
    assert linear_delay_ticks(0, 2.5, 's')[2][1] == '1 s'


def test_stics_images_skip_delay_zero_only_if_held(correlation):
    # without delay 0, the default panels start at the first delay
    kept = correlation.isel(delay=[1, 4, 8])
    titles = [ax.get_title() for ax in stics_images(kept).axes if ax.images]
    assert titles == ['G, delay 1 ms', 'G, delay 4 ms', 'G, delay 8 ms']
