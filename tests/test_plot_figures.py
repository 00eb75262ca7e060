"""What the static figures show: labels, ticks, titles, limits, masks."""

import math

import numpy
import pytest
from numpy.testing import assert_allclose

import ipcf
from ipcf import plot
from ipcf.plot._common import cell_mask, delay_ticks

pytest.importorskip('matplotlib')
tifffile = pytest.importorskip('tifffile')

DT = 1e-3
SIZE = 0.1  # µm per pixel


def disc(shape, centre, radius):
    yy, xx = numpy.mgrid[: shape[0], : shape[1]]
    return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius**2


@pytest.fixture(scope='module')
def cell():
    """A bright disc (the cell) on a dark background, and its series."""
    rng = numpy.random.default_rng(7)
    inside = disc((24, 24), (12, 11), 8)
    rate = numpy.where(inside, 60.0, 5.0)
    data = rng.poisson(rate, (512, 24, 24)).astype(numpy.uint16)
    return inside, data


@pytest.fixture(scope='module')
def result(cell):
    result = ipcf.pcf_image(cell[1], radius=2, npoints=8, nbins=16, dt=DT)
    result.attrs['pixel_size'] = SIZE
    return result


def tick_labels(axis):
    return [t.get_text() for t in axis.get_ticklabels()]


def decades_within(delays):
    """Round delays (decades) from the first non-zero delay to the last."""
    low, high = delays[delays > 0].min(), delays.max()
    values = [10.0**e for e in range(-6, 4)]
    return [v for v in values if low * (1 - 1e-9) <= v <= high * (1 + 1e-9)]


def label(value):
    return {1e-3: '1 ms', 1e-2: '10 ms', 1e-1: '100 ms', 1.0: '1 s'}[value]


def widened(inside, pixels=4):
    """Return the mask grown by some pixels."""
    from scipy import ndimage

    return ndimage.binary_dilation(inside, iterations=pixels)


# 1: one spatial convention


def test_summary_mean_and_pcf_image_both_in_um(result, cell):
    mean = cell[1].mean(axis=0)
    fig = plot.summary(result, mean)
    image, _, pcf = fig.axes[:3]  # then their colour bars
    assert image.get_xlabel() == 'x (µm)' and image.get_ylabel() == 'y (µm)'
    assert pcf.get_xlabel() == 'x (µm)'
    # the mean image spans 24 pixels of 0.1 µm from the corner
    assert_allclose(image.get_images()[0].get_extent(), (0, 2.4, 2.4, 0))
    assert_allclose(pcf.get_images()[0].get_extent(), (0.2, 2.2, 2.2, 0.2))


def test_summary_in_pixels_without_a_pixel_size(result, cell):
    bare = result.copy()
    del bare.attrs['pixel_size']
    fig = plot.summary(bare, cell[1].mean(axis=0))
    assert fig.axes[0].get_xlabel() == 'x (pixel)'
    assert fig.axes[2].get_xlabel() == 'x (pixel)'


# 2: which number is u, which v, and how far


def test_pcf_image_title_names_u_v_and_distance(result):
    point = 2  # 90°: the neighbour 2 rows down
    u, v = int(result['u'][point]), int(result['v'][point])
    assert (u, v) == (0, 2)
    fig = plot.pcf_image(result, point, 3)
    title = fig.axes[0].get_title()
    assert title.startswith('pCF toward (u=0, v=2; 0.2 µm) at ')
    several = plot.pcf_image(result, 1, [2, 3])
    # point 1 is (1, 1): sqrt(2) pixels of 0.1 µm
    assert several.get_suptitle() == (
        'pCF toward circle point 1: (u=1, v=1; 0.141 µm)'
    )
    bare = result.copy()
    del bare.attrs['pixel_size']
    assert (
        '(u=0, v=2) at' in plot.pcf_image(bare, point, 3).axes[0].get_title()
    )


def test_curve_title_names_u_and_v(result, cell):
    fig = plot.curve_processing(cell[1], result, 12, 11, point=2)
    assert fig.axes[0].get_title() == (
        'pixel y=12, x=11 toward (u=0, v=2; 0.2 µm)'
    )


# 3: directions and round delays


def test_carpet_rows_are_directions_and_delays_decades(result):
    fig = plot.carpet(result, 12, 11)
    ax = fig.axes[0]
    assert ax.get_ylabel() == 'direction of the neighbour'
    assert_allclose(ax.get_yticks(), [0, 90, 180, 270])
    assert tick_labels(ax.yaxis) == ['0° →', '90° ↓', '180° ←', '270° ↑']
    # row i is centred at the nominal angle 360 i / 8
    assert_allclose(ax.get_images()[0].get_extent()[2:], (337.5, -22.5))
    delays = result['delay'].values
    expected = decades_within(delays)
    assert len(expected) >= 2
    assert tick_labels(ax.xaxis)[-len(expected) :] == [
        label(v) for v in expected
    ]
    # each tick sits where its delay falls between the bins' delays
    index = numpy.arange(delays.size)
    positions = ax.get_xticks()[-len(expected) :]
    at = numpy.interp(positions, index[1:], numpy.log10(delays[1:]))
    assert_allclose(at, numpy.log10(expected), atol=1e-9)
    assert ax.get_xlabel() == 'delay, log bins'


def test_lines_and_curve_have_decade_ticks(result, cell):
    delays = result['delay'].values
    expected = decades_within(delays)
    lines = plot.lines(result, 12, 11)
    ax = lines.axes[0]
    assert_allclose(ax.get_xticks(), expected)
    assert tick_labels(ax.xaxis) == [label(v) for v in expected]
    bar = lines.axes[1]
    assert bar.get_ylabel() == 'direction of the neighbour'
    assert tick_labels(bar.yaxis) == ['0° →', '90° ↓', '180° ←', '270° ↑']
    curve = plot.curve_processing(cell[1], result, 12, 11).axes[0]
    labels = tick_labels(curve.xaxis)
    assert '1 ms' in labels and '10 ms' in labels
    assert not any('0.0' in text for text in labels)


def test_line_carpet_has_decade_ticks():
    from ipcf.line import pcf_line

    data = numpy.random.default_rng(0).poisson(100, (512, 24))
    line = pcf_line(data, distance=[2], nbins=12, dt=DT)
    ax = plot.pcf_carpet(line).axes[0]
    delays = line['delay'].values
    expected = decades_within(delays)
    assert tick_labels(ax.yaxis)[-len(expected) :] == [
        label(v) for v in expected
    ]
    assert ax.get_ylabel() == 'delay, log bins'


def test_delay_ticks_fall_back_within_one_decade():
    # 2 ms to 8 ms holds no decade: 1-2-5 steps instead
    delays = numpy.array([0.0, 0.002, 0.004, 0.008])
    assert delay_ticks(delays, 's')[0] == [(0.002, '2 ms'), (0.005, '5 ms')]


# 4: the polar figure's delay labels off the data


def test_polar_labels_delays_on_a_ruler_outside_the_disc(result):
    fig = plot.polar(result, 12, 11)
    ax = fig.axes[0]
    assert all(text == '' for text in tick_labels(ax.yaxis))
    (ruler,) = ax.child_axes
    delays = result['delay'].values
    expected = decades_within(delays)
    assert tick_labels(ruler.xaxis) == [label(v) for v in expected]
    radii = [1 + math.log10(v / delays[1]) for v in expected]
    assert_allclose(ruler.get_xticks(), radii)
    assert_allclose(ax.get_yticks(), radii)  # the circles at those delays
    assert 'delay' in ruler.get_xlabel()
    fig.canvas.draw()
    below = ruler.get_tightbbox().y1
    assert below <= ax.get_window_extent().y0 + 1


# 5: maps


def maps_of(result):
    return ipcf.maps(result, pixel_size=SIZE, w=0.25)


def test_maps_mask_hides_background_and_limits_come_from_the_cell(
    result, cell
):
    dataset = maps_of(result)
    # an outlier outside the cell must not set the scale
    dataset['D'].values[0, 0] = 1e6
    ys, xs = dataset['y'].values, dataset['x'].values
    inside = cell[0][numpy.ix_(ys, xs)]
    fig = plot.maps(dataset, mask=cell[0])  # a mask of the input images
    panel = fig.axes[2]  # D (the panels, then their colour bars)
    shown = panel.get_images()[0].get_array()
    assert shown.mask[~inside].all()
    assert not shown.mask[inside & numpy.isfinite(dataset['D'].values)].any()
    # limits: 1st and 99th percentiles over the pixels farther than the
    # radius (2) from the cell's edge
    from scipy import ndimage

    interior = ndimage.binary_erosion(inside, iterations=2, border_value=1)
    values = dataset['D'].values[interior]
    values = values[numpy.isfinite(values)]
    assert_allclose(
        panel.get_images()[0].get_clim(),
        numpy.percentile(values, [1, 99]),
    )
    # the same mask on the maps' own grid draws the same
    again = plot.maps(dataset, mask=inside).axes[2].get_images()[0]
    assert_allclose(again.get_clim(), panel.get_images()[0].get_clim())


def test_maps_colour_bars_are_words_with_units(result):
    fig = plot.maps(maps_of(result))
    labels = [fig.axes[i].get_ylabel() for i in (4, 5, 6, 7)]
    assert labels[0] == 'delay of the peak (s)'
    assert labels[1].startswith('G at the peak')
    assert labels[2] == 'D (µm²/s)'
    assert labels[3].startswith('anisotropy')


def test_maps_arrows_are_white_with_a_dark_edge_inside_the_mask(result, cell):
    dataset = maps_of(result)
    dataset['flow_angle'][:] = 0.0
    dataset['flow_strength'][:] = 0.5
    fig = plot.maps(dataset, mask=cell[0], arrows=6)
    (quiver,) = fig.axes[3].collections
    assert_allclose(quiver.get_facecolor()[0], (1, 1, 1, 1))
    edge = quiver.get_edgecolor()[0]
    assert max(edge[:3]) < 0.3 and quiver.get_linewidth()[0] > 0
    assert quiver.width >= 0.008
    # every arrow at a block mostly inside the cell, pointing +x
    x, y = quiver.X / SIZE - 0.5, quiver.Y / SIZE - 0.5
    near = widened(cell[0], 2)
    assert near[numpy.rint(y).astype(int), numpy.rint(x).astype(int)].all()
    assert_allclose(quiver.V, 0.0, atol=1e-12)
    assert (quiver.U > 0).all()


def test_cell_mask_finds_the_disc_and_not_noise(cell):
    mask = cell_mask(cell[1].mean(axis=0))
    # all of the disc, and at most the smoothing's reach (2 sigma) beyond
    assert mask[cell[0]].all()
    assert not (mask & ~widened(cell[0])).any()
    assert (mask & ~cell[0]).any()
    noise = numpy.random.default_rng(1).poisson(100, (64, 24, 24))
    assert cell_mask(noise.mean(axis=0)) is None


def test_plot_maps_of_a_result_store_masks_the_cell(tmp_path, cell):
    tifffile.imwrite(tmp_path / 'cell.tif', cell[1])
    result = ipcf.pcf_image(cell[1], radius=2, npoints=8, nbins=16, dt=DT)
    store = tmp_path / 'cell_pcf.h5'
    ipcf.save_result(result, store, source='cell.tif')
    fig = plot.draw(store, 'maps', pixel_size=SIZE, psf_radius=0.25)
    shown = fig.axes[0].get_images()[0].get_array()
    ys, xs = result['y'].values, result['x'].values
    outside = ~widened(cell[0])[numpy.ix_(ys, xs)]
    inside = cell[0][numpy.ix_(ys, xs)]
    # the corners are background: masked; the cell is drawn
    assert outside.any() and shown.mask[outside].all()
    assert not shown.mask[inside].all()


def test_plot_maps_file_of_ipcf_maps(tmp_path, cell):
    from ipcf.analysis import write_maps

    tifffile.imwrite(tmp_path / 'cell.tif', cell[1])
    result = ipcf.pcf_image(cell[1], radius=2, npoints=8, nbins=16, dt=DT)
    store = tmp_path / 'cell_pcf.h5'
    ipcf.save_result(result, store, source='cell.tif')
    maps_path = write_maps(store, tmp_path / 'm.h5', pixel_size=SIZE, w=0.25)
    fig = plot.draw(maps_path, 'maps')
    assert fig.axes[0].get_title() == 'delay of the pCF peak'
    assert fig.axes[0].get_xlabel() == 'x (µm)'
    expected = plot.draw(store, 'maps', pixel_size=SIZE, psf_radius=0.25)
    assert_allclose(
        numpy.ma.filled(fig.axes[2].get_images()[0].get_array(), numpy.nan),
        numpy.ma.filled(
            expected.axes[2].get_images()[0].get_array(), numpy.nan
        ),
    )
    with pytest.raises(ValueError, match='holds maps'):
        plot.draw(maps_path, 'carpet')


# 6: the intensity trace


def test_trace_is_decimated_with_trend_and_analysed_frames():
    frames, tau = 20000, 6000.0
    rng = numpy.random.default_rng(3)
    decay = 100.0 * numpy.exp(-numpy.arange(frames) / tau) + 50.0
    trace = rng.normal(decay, 2.0)
    attrs = {'frames': 8192, 'bleach': 'filter:1024', 'dt': DT}
    result = ipcf.pcf_image(
        rng.poisson(100, (64, 6, 6)), radius=1, npoints=4, nbins=4
    )
    result.attrs.update(attrs)
    fig = plot.intensity_trace(trace, dt=DT, result=result, bins=1000)
    ax = fig.axes[0]
    mean_line = ax.lines[0]
    assert len(mean_line.get_xdata()) == 1000
    # each point is the mean of 20 frames
    assert_allclose(mean_line.get_ydata()[0], trace[:20].mean())
    band = [c for c in ax.collections if c.get_label().startswith('min')]
    assert band and band[0].get_label() == 'min..max of 20 frames'
    patches = [p for p in ax.patches if p.get_label().startswith('analysed')]
    assert patches[0].get_label() == 'analysed: frames 1024..9215'
    start, width = patches[0].get_x(), patches[0].get_width()
    assert_allclose((start, start + width), (1024 * DT, 9215 * DT))
    trend = ax.lines[1]
    assert trend.get_label().startswith('bleaching trend: τ = ')
    fitted = float(trend.get_label().split('τ = ')[1].split(' s')[0])
    assert fitted == pytest.approx(tau * DT, rel=0.05)


def test_trace_kind_of_a_result_shades_its_frames(tmp_path):
    data = numpy.random.default_rng(0).poisson(100, (300, 8, 8))
    tifffile.imwrite(tmp_path / 's.tif', data.astype(numpy.uint16))
    result = ipcf.pcf_image(data, radius=1, npoints=4, nbins=4, dt=DT)
    ipcf.save_result(result, tmp_path / 'r.h5', source='s.tif')
    ax = plot.draw(tmp_path / 'r.h5', 'trace').axes[0]
    (patch,) = ax.patches
    assert patch.get_label() == 'analysed: frames 0..255'


# 7: the report's tables


def test_report_tables_have_bins_units_and_one_format(cell):
    from ipcf.plot.report import report_html

    data = cell[1][:256]
    result = ipcf.pcf_image(data, radius=2, npoints=8, nbins=32, dt=DT)
    text = report_html(result, data=data, pixels=[(12, 11)])
    bins = result.sizes['delay']
    assert bins < 32
    assert f'<th>nbins</th><td>{bins} (32 requested)</td>' in text
    assert '<th>dt</th><td>0.001</td><td>s</td>' in text
    last = result['delay'].values[-1]
    assert (
        f'<th>delays</th><td>0 .. {last:.4g} in {bins} bins</td><td>s</td>'
        in text
    )
    assert '<th>size</th><td>0.2812</td><td>MiB</td>' in text
    # run times: four significant digits, unit in its column
    assert '<th>this report</th><td>' in text
    row = text.split('<th>this report</th><td>')[1].split('</td>')[0]
    assert len(row.replace('.', '').lstrip('0')) <= 4
