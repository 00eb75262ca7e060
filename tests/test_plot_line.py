"""Tests of the pCF carpet figure of line scans."""

import io

import numpy
import pytest
from numpy.testing import assert_allclose

from ipcf.line import pcf_line
from ipcf.plot.line import pcf_carpet

PNG = b'\x89PNG\r\n\x1a\n'


@pytest.fixture(scope='module')
def data():
    rng = numpy.random.default_rng(5)
    return rng.poisson(100, (256, 20)).astype(numpy.uint16)


@pytest.fixture(scope='module')
def result(data):
    mask = numpy.ones(20, bool)
    mask[9] = False
    return pcf_line(data, distance=[1, 3], nbins=8, dt=1e-3, mask=mask)


def test_panels_show_the_result(data, result):
    """Intensity, +d and -d panels hold the data and the result's curves."""
    fig = pcf_carpet(result, data, distance=3)
    intensity, forward, backward = fig.axes[:3]
    assert intensity.get_title() == 'intensity'
    assert forward.get_title() == 'pCF toward +3 pixels'
    assert backward.get_title() == 'pCF toward -3 pixels'
    shown = forward.images[0].get_array()
    # positions across, delays downward; the masked centre is masked
    assert shown.shape == (result.sizes['delay'], result.sizes['x'])
    assert_allclose(
        shown.filled(numpy.nan), result.sel(offset=3).values.T, atol=0
    )
    column = int(numpy.flatnonzero(result['x'].values == 9)[0])
    assert shown.mask[:, column].all()
    assert_allclose(intensity.images[0].get_array(), data)
    # one colour scale for both directions
    assert forward.images[0].get_clim() == backward.images[0].get_clim()
    assert forward.get_ylabel() == 'delay, log bins'
    assert forward.get_xlabel() == 'position (pixel)'
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png')
    assert buffer.getvalue().startswith(PNG)


def test_default_distance_units_and_axes(result):
    """The largest distance by default; µm with a pixel size; own axes."""
    from matplotlib.figure import Figure

    fig = pcf_carpet(result, pixel_size=0.1)
    assert len(fig.axes) == 3  # two panels and the colour bar
    assert fig.axes[0].get_title() == 'pCF toward +3 pixels'
    assert fig.axes[0].get_xlabel() == 'position (µm)'
    left, right = fig.axes[0].images[0].get_extent()[:2]
    assert_allclose([left, right], [0.3, 1.7])
    own = Figure()
    axes = own.subplots(1, 2)
    assert pcf_carpet(result, distance=1, axes=axes) is own
    assert axes[1].get_title() == 'pCF toward -1 pixels'


def test_several_lines(data):
    """A line of a result of several lines is chosen by index."""
    lines = numpy.stack([data, data[:, ::-1]], axis=1)
    result = pcf_line(lines, distance=2, nbins=8)
    fig = pcf_carpet(result, lines, line=1)
    expected = result.isel(line=1).sel(offset=2).values.T
    assert_allclose(fig.axes[1].images[0].get_array(), expected)
    assert_allclose(fig.axes[0].images[0].get_array(), data[:, ::-1])


@pytest.mark.parametrize(
    ('kwargs', 'error', 'match'),
    [
        ({'distance': 2}, ValueError, r'holds \[1, 3\]'),
        ({'distance': '3'}, TypeError, 'not an integer'),
        ({'axes': [None]}, ValueError, '2 are needed'),
    ],
)
def test_errors(result, kwargs, error, match):
    """Wrong distances and axes raise one-line errors."""
    with pytest.raises(error, match=match):
        pcf_carpet(result, **kwargs)


def test_wrong_inputs(data, result):
    """Not a line result, or a carpet of other positions."""
    with pytest.raises(TypeError, match='pcf_line'):
        pcf_carpet(numpy.zeros((3, 3)))
    with pytest.raises(ValueError, match='positions'):
        pcf_carpet(result, data[:, :10])
    with pytest.raises(ValueError, match='lines'):
        pcf_carpet(pcf_line(data[:, None], distance=1, nbins=8), data, line=1)
