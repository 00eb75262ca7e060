"""Tests of the ipcf.plot figures, its dispatcher and `ipcf plot`."""

import io

import numpy
import pytest
from numpy.testing import assert_allclose

import ipcf
from ipcf import plot
from ipcf.cli import main

PNG = b'\x89PNG\r\n\x1a\n'


@pytest.fixture(scope='module')
def series():
    rng = numpy.random.default_rng(42)
    data = rng.poisson(100, (128, 14, 14)).astype(numpy.uint16)
    data[:, 6, 7] += rng.poisson(20, 128).astype(numpy.uint16)
    return data


@pytest.fixture(scope='module')
def mask():
    mask = numpy.ones((14, 14), bool)
    mask[5, 5] = False
    return mask


@pytest.fixture(scope='module')
def series_metadata():
    return {'pixel_size': 0.1, 'frame_time': 1e-3, 'psf_radius': 0.25}


def png_bytes(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png', dpi=40)
    return buffer.getvalue()


def assert_drawn(fig):
    """The figure renders to a PNG and its axes are labelled."""
    assert fig.axes
    data = png_bytes(fig)
    assert data.startswith(PNG) and len(data) > 1000
    ax = fig.axes[0]
    assert ax.get_title() or fig.get_suptitle()
    if ax.name != 'polar':  # its delays are on a ruler below the disc
        assert ax.get_xlabel()
        assert ax.get_ylabel()


def drawn_image(ax, index=0):
    """Return the data of an image of ax with NaN where it is masked."""
    array = ax.get_images()[index].get_array()
    return numpy.ma.filled(numpy.ma.asarray(array, float), numpy.nan)


def test_mean_image(series):
    mean = series.mean(axis=0)
    fig = plot.mean_image(mean, mark=(6, 7))
    assert_drawn(fig)
    ax = fig.axes[0]
    assert ax.get_xlabel() == 'x (pixel)'
    assert ax.get_ylabel() == 'y (pixel)'
    assert len(ax.get_images()) == 1
    assert_allclose(drawn_image(ax), mean)
    (cross,) = ax.lines
    assert (cross.get_xdata()[0], cross.get_ydata()[0]) == (7, 6)
    assert fig.axes[1].get_ylabel() == 'intensity (counts)'


def test_mean_image_refuses_mark_outside(series):
    with pytest.raises(ValueError, match=r'mark \(y=14, x=0\) is outside'):
        plot.mean_image(series.mean(axis=0), mark=(14, 0))
    with pytest.raises(TypeError, match='pixel_size'):
        plot.mean_image(series.mean(axis=0), pixel_size='0.1')


def test_mean_image_of_series_in_um(stored, series):
    fig = plot.mean_image(stored[0], pixel_size=0.1)
    assert_drawn(fig)
    assert fig.axes[0].get_xlabel() == 'x (µm)'
    image = fig.axes[0].get_images()[0].get_array()
    assert_allclose(image, series.mean(axis=0))


def test_mean_image_nan():
    image = numpy.ones((6, 6))
    image[2, 3] = numpy.nan
    fig = plot.mean_image(image)
    assert fig.axes[0].get_images()[0].get_array().mask[2, 3]


def test_mean_image_refuses_1d():
    with pytest.raises(ValueError, match='not 2-D'):
        plot.mean_image(numpy.ones(5))


def test_intensity_trace(series):
    trend = numpy.full(len(series), 100.0)
    fig = plot.intensity_trace(series, dt=1e-3, trend=trend)
    assert_drawn(fig)
    ax = fig.axes[0]
    assert ax.get_xlabel() == 'time (s)'
    assert len(ax.lines) == 2
    assert_allclose(ax.lines[0].get_ydata(), series.mean(axis=(1, 2)))


def test_intensity_trace_of_pixel_and_file(stored, series):
    fig = plot.intensity_trace(stored[0], pixel=(3, 4))
    assert_drawn(fig)
    # frame_time comes from the file's metadata
    assert fig.axes[0].get_xlabel() == 'time (s)'
    assert_allclose(fig.axes[0].lines[0].get_ydata(), series[:, 3, 4])


def test_intensity_trace_in_frames():
    fig = plot.intensity_trace(numpy.arange(10.0))
    assert fig.axes[0].get_xlabel() == 'frame'


def test_intensity_trace_bad_arguments(series):
    with pytest.raises(ValueError, match='trend.shape'):
        plot.intensity_trace(series, trend=numpy.ones(3))
    with pytest.raises(ValueError, match='outside'):
        plot.intensity_trace(series, pixel=(14, 0))
    with pytest.raises(ValueError, match='dt'):
        plot.intensity_trace(series, dt=0)
    with pytest.raises(TypeError, match='dt'):
        plot.intensity_trace(series, dt='0.001')


def test_curve_processing_matches_result(series, result):
    fig = plot.curve_processing(series, result, 6, 7, point=3)
    assert_drawn(fig)
    ax = fig.axes[0]
    assert ax.get_xscale() == 'log'
    assert ax.get_xlabel() == 'delay'  # the tick labels have the unit
    raw, binned, smoothed = ax.lines[:3]
    assert len(raw.get_xdata()) == result.attrs['frames'] // 2 - 1
    stored = result.sel(y=6, x=7).values[3, 1:]
    assert_allclose(smoothed.get_ydata(), stored, atol=1e-6)


def test_curve_processing_linear_mode(series):
    result = ipcf.pcf_image(
        series, radius=2, npoints=4, nbins=6, mode='linear'
    )
    fig = plot.curve_processing(series, result, 5, 5, point=1)
    smoothed = fig.axes[0].lines[2].get_ydata()
    assert_allclose(smoothed, result.sel(y=5, x=5).values[1, 1:], atol=1e-6)


def test_curve_processing_bad_arguments(series, result):
    with pytest.raises(ValueError, match='outside the result'):
        plot.curve_processing(series, result, 0, 0)
    with pytest.raises(ValueError, match='point=8 is out of range'):
        plot.curve_processing(series, result, 6, 6, point=8)
    with pytest.raises(ValueError, match='frames'):
        plot.curve_processing(series[:50], result, 6, 6)
    with pytest.raises(ValueError, match='outside'):
        plot.curve_processing(series[:, :8, :8], result, 6, 6, point=0)
    with pytest.raises(TypeError, match='DataArray'):
        plot.curve_processing(series, numpy.zeros((2, 2, 2, 2)), 6, 6)
    with pytest.raises(ValueError, match='dims'):
        plot.curve_processing(series, result.transpose('x', 'y', ...), 6, 6)


def drawn_curves(fig, function):
    """Return the (point, delay) values a pixel figure shows."""
    ax = fig.axes[0]
    if function == 'carpet':
        return drawn_image(ax)
    if function == 'polar':
        mesh = numpy.ma.asarray(ax.collections[0].get_array(), float)
        return numpy.ma.filled(mesh, numpy.nan).reshape(-1, 8).T
    # lines: one per point, without delay 0 (log axis)
    return numpy.array([line.get_ydata() for line in ax.lines[:-1]])


@pytest.mark.parametrize('function', ['carpet', 'polar', 'lines'])
def test_pixel_figures(function, result):
    fig = getattr(plot, function)(result, 6, 7)
    assert_drawn(fig)
    assert 'y=6, x=7' in fig.axes[0].get_title()
    if function != 'polar':
        assert fig.axes[0].get_xlabel().startswith('delay')
    expected = result.sel(y=6, x=7).values
    if function == 'lines':
        expected = expected[:, 1:]
    assert_allclose(drawn_curves(fig, function), expected, rtol=1e-6)


@pytest.mark.parametrize('function', ['carpet', 'polar', 'lines'])
def test_pixel_figures_of_masked_pixel(function, result):
    fig = getattr(plot, function)(result, 5, 5)
    png_bytes(fig)
    assert '(masked)' in fig.axes[0].get_title()
    assert numpy.isnan(drawn_curves(fig, function)).all()


@pytest.mark.parametrize('function', ['carpet', 'polar', 'lines'])
def test_pixel_figures_refuse_bad_pixel(function, result):
    with pytest.raises(ValueError, match=r'pixel \(y=1, x=6\) is outside'):
        getattr(plot, function)(result, 1, 6)
    with pytest.raises(TypeError, match='not an integer'):
        getattr(plot, function)(result, 6.5, 6)


def test_polar_orientation(result):
    fig = plot.polar(result, 6, 7)
    ax = fig.axes[0]
    assert ax.get_theta_direction() == -1
    mesh = ax.collections[0]
    # one cell per delay and circle point
    assert mesh.get_array().size == result.shape[2] * result.shape[3]


def test_polar_refuses_cartesian_axes(result):
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    with pytest.raises(ValueError, match='not polar'):
        plot.polar(result, 6, 7, ax=ax)


def test_polar_into_given_axes(result):
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot(projection='polar')
    assert plot.polar(result, 6, 7, ax=ax) is fig


def test_lines_points(result):
    fig = plot.lines(result, 6, 7, points=[1, 5])
    assert len(fig.axes[0].lines) == 3  # two curves and the zero line
    with pytest.raises(ValueError, match='point=9'):
        plot.lines(result, 6, 7, points=[9])


def test_pcf_image(result):
    fig = plot.pcf_image(result, point=2, delay=3)
    assert_drawn(fig)
    image = fig.axes[0].get_images()[0].get_array()
    assert image.shape == result.shape[:2]
    assert image.mask[5 - 2, 5 - 2]  # the masked pixel is blank
    assert image.mask.sum() == 1
    assert_allclose(drawn_image(fig.axes[0]), result.values[:, :, 2, 3])
    assert 'ms' in fig.axes[0].get_title()
    assert fig.axes[1].get_ylabel().startswith('G')  # the colour bar


def test_pcf_image_grid(result):
    fig = plot.pcf_image(result, 1, [1, 2, 3, 4, 5])
    assert_drawn(fig)
    images = [ax.get_images() for ax in fig.axes]
    assert sum(len(i) for i in images) == 5
    limits = {i[0].get_clim() for i in images if i}
    assert len(limits) == 1  # one colour scale
    drawn = [ax for ax in fig.axes if ax.get_images()]
    for ax, delay in zip(drawn, [1, 2, 3, 4, 5], strict=True):
        assert_allclose(drawn_image(ax), result.values[:, :, 1, delay])
    assert 'circle point 1' in fig.get_suptitle()


def test_pcf_image_in_um(result):
    fig = plot.pcf_image(result, 0, 1, pixel_size=0.2)
    ax = fig.axes[0]
    assert ax.get_xlabel() == 'x (µm)'
    left, right, _, _ = ax.get_images()[0].get_extent()
    assert_allclose([left, right], [2 * 0.2, 12 * 0.2])


def test_pcf_image_bad_arguments(result):
    with pytest.raises(ValueError, match='point=8 is out of range 0..7'):
        plot.pcf_image(result, point=8)
    with pytest.raises(ValueError, match='delay=-1 is out of range'):
        plot.pcf_image(result, delay=-1)
    with pytest.raises(ValueError, match='empty'):
        plot.pcf_image(result, delay=[])
    with pytest.raises(ValueError, match='2 axes given for 1 delays'):
        from matplotlib.figure import Figure

        plot.pcf_image(result, delay=[1], ax=list(Figure().subplots(1, 2)))


def test_pcf_image_of_stored_result_in_um(stored, result):
    # the pixel size is an attribute of the result
    stored_result = ipcf.load_result(stored[1])
    stored_result.attrs['pixel_size'] = 0.5
    fig = plot.pcf_map(stored_result, 2, 1)  # the former name
    ax = fig.axes[0]
    assert ax.get_xlabel() == 'x (µm)'
    assert_allclose(drawn_image(ax), result.values[:, :, 2, 1])


def test_all_nan_result(result):
    empty = result.copy(data=numpy.full(result.shape, numpy.nan, 'f4'))
    fig = plot.pcf_image(empty, 0, 1)
    png_bytes(fig)
    assert fig.axes[0].get_images()[0].get_array().mask.all()
    for function in ('carpet', 'polar', 'lines'):
        fig = getattr(plot, function)(empty, 6, 6)
        png_bytes(fig)
        assert '(masked)' in fig.axes[0].get_title()
        assert numpy.isnan(drawn_curves(fig, function)).all()


def test_roi(series, mask):
    mean = series.mean(axis=0)
    fig = plot.roi(mean, box=(2, 12, 3, 11), mask=mask)
    assert_drawn(fig)
    ax = fig.axes[0]
    (box,) = ax.patches
    assert_allclose(box.get_xy(), (2.5, 1.5))
    assert (box.get_width(), box.get_height()) == (8, 10)
    image, shade = ax.get_images()
    assert_allclose(drawn_image(ax), mean)
    # only the pixel outside the mask is dimmed
    alpha = shade.get_array()[..., 3]
    assert alpha[5, 5] == 0.5
    assert alpha.sum() == 0.5


def test_roi_of_a_detected_cell():
    """The box that ipcf.roi.detect finds, drawn over its mean image."""
    from ipcf.roi import detect

    rng = numpy.random.default_rng(0)
    y, x = numpy.indices((96, 128))
    cell = ((y - 40) / 20) ** 2 + ((x - 70) / 30) ** 2 < 1
    image = rng.normal(100, 3, cell.shape) + 40 * cell
    y0, y1, x0, x1 = box = detect(image, block=16)
    fig = plot.roi(image, box=box, title='roi')
    assert_drawn(fig)
    (patch,) = fig.axes[0].patches
    # pixel centres are at integers: the box spans their outer edges
    assert_allclose(patch.get_xy(), (x0 - 0.5, y0 - 0.5))
    assert (patch.get_width(), patch.get_height()) == (x1 - x0, y1 - y0)
    assert_allclose(drawn_image(fig.axes[0]), image)
    with pytest.raises(ValueError, match='2-D'):
        plot.roi(numpy.zeros(4), box=box)


@pytest.mark.parametrize('shape', [(24, 1), (1, 24), (1, 100_000), (64, 64)])
def test_image_figures_are_bounded(shape):
    """A figure follows the image's shape, within a few inches."""
    image = numpy.arange(float(numpy.prod(shape))).reshape(shape)
    for fig in (
        plot.mean_image(image),
        plot.roi(image, box=(0, shape[0], 0, shape[1])),
    ):
        width, height = fig.get_size_inches()
        assert 3 <= width <= 7 and 3 <= height <= 7, (width, height)
        if shape[0] > shape[1]:
            assert height > width
        png_bytes(fig)


def test_roi_in_um(series):
    fig = plot.roi(series.mean(axis=0), box=(2, 12, 3, 11), pixel_size=0.1)
    (box,) = fig.axes[0].patches
    assert_allclose(box.get_xy(), (0.3, 0.2))


def test_roi_bad_arguments(series):
    image = series.mean(axis=0)
    with pytest.raises(ValueError, match='box'):
        plot.roi(image)
    with pytest.raises(ValueError, match='outside'):
        plot.roi(image, box=(0, 20, 0, 5))
    with pytest.raises(ValueError, match='empty'):
        plot.roi(image, box=(5, 5, 0, 5))
    with pytest.raises(ValueError, match='mask.shape'):
        plot.roi(image, mask=numpy.ones((3, 3), bool))
    with pytest.raises(TypeError, match='mask.dtype'):
        plot.roi(image, mask=numpy.full((14, 14), 0.5))


def maps_dataset(ny=10, nx=12, nan=True):
    import xarray

    rng = numpy.random.default_rng(0)
    names = ('peak_delay', 'peak_amplitude', 'flow_strength', 'anisotropy')
    variables = {n: (('y', 'x'), rng.random((ny, nx))) for n in names}
    variables['flow_angle'] = (
        ('y', 'x'),
        rng.uniform(-numpy.pi, numpy.pi, (ny, nx)),
    )
    if nan:
        for name in variables:
            variables[name][1][0, 0] = numpy.nan
    coords = {'y': numpy.arange(2, 2 + ny), 'x': numpy.arange(2, 2 + nx)}
    return xarray.Dataset(variables, coords=coords)


def test_maps():
    dataset = maps_dataset()
    fig = plot.maps(dataset, pixel_size=0.1)
    assert_drawn(fig)
    assert len(fig.axes) == 6  # three maps and their colour bars
    assert fig.axes[2].get_xlabel() == 'x (µm)'
    assert fig.axes[2].collections  # the arrows
    names = ['peak_delay', 'peak_amplitude', 'anisotropy']
    for ax, name in zip(fig.axes[:3], names, strict=True):
        image = ax.get_images()[0].get_array()
        assert image.mask[0, 0] and image.mask.sum() == 1  # NaN: masked
        assert_allclose(drawn_image(ax), dataset[name].values)


def test_maps_averages_points():
    dataset = maps_dataset(nan=False)
    rng = numpy.random.default_rng(1)
    dataset['peak_delay'] = (('point', 'y', 'x'), rng.random((4, 10, 12)))
    dataset['peak_delay'][1, 2, 3] = numpy.nan
    fig = plot.maps(dataset)
    expected = dataset['peak_delay'].mean('point').values  # NaN skipped
    assert numpy.isfinite(expected).all()
    assert_allclose(drawn_image(fig.axes[0]), expected)
    assert fig.axes[0].get_title() == 'delay of the pCF peak'


def test_maps_refuses_pcf_result(result):
    with pytest.raises(TypeError, match=r'pass ipcf\.maps\(result'):
        plot.maps(result)
    with pytest.raises(TypeError, match='Dataset of ipcf.maps'):
        plot.maps(numpy.zeros((4, 4)))


def test_maps_with_diffusion():
    dataset = maps_dataset()
    dataset['D'] = dataset['anisotropy'] * 4
    dataset['D'].attrs['units'] = 'um^2/s'
    fig = plot.maps(dataset)
    assert len(fig.axes) == 8
    assert any('µm²/s' in ax.get_ylabel() for ax in fig.axes)


@pytest.mark.parametrize(
    ('free', 'title'),
    [
        (False, 'diffusion coefficient\npooled 2.06 µm²/s (apparent)'),
        (True, 'diffusion coefficient\npooled 2.06 µm²/s'),
        (None, 'diffusion coefficient\npooled 2.06 µm²/s'),  # maps of old
    ],
)
def test_maps_title_says_whether_pooled_d_is_apparent(free, title):
    dataset = maps_dataset()
    dataset['D'] = dataset['anisotropy'] * 4
    dataset.attrs['D_pooled'] = 2.0614
    if free is not None:
        dataset.attrs['D_pooled_free'] = numpy.bool_(free)  # as stored
    fig = plot.maps(dataset)
    assert fig.axes[2].get_title() == title


def test_maps_arrows_follow_flow_angle():
    dataset = maps_dataset(nan=False)
    dataset['flow_angle'][:] = numpy.pi / 2  # toward +y: down the rows
    dataset['flow_strength'][:] = 1.0
    quiver = plot.maps(dataset).axes[2].collections[0]
    assert_allclose(quiver.U, 0.0, atol=1e-12)
    assert_allclose(quiver.V, 1.0)


def test_maps_bad_arguments():
    dataset = maps_dataset().drop_vars('anisotropy')
    with pytest.raises(ValueError, match='lacks anisotropy'):
        plot.maps(dataset)
    with pytest.raises(ValueError, match='3 panels; 2 axes'):
        from matplotlib.figure import Figure

        plot.maps(maps_dataset(), axes=Figure().subplots(1, 2))
    with pytest.raises(ValueError, match='dims'):
        plot.maps(maps_dataset().rename({'x': 'col'}))


def test_maps_of_ipcf_maps(result):
    from ipcf.analysis import maps

    dataset = maps(result, pixel_size=0.1, w=0.25)
    fig = plot.maps(dataset)
    assert_drawn(fig)
    assert fig.axes[0].get_xlabel() == 'x (µm)'  # the maps' pixel size
    drawn = drawn_image(fig.axes[0])
    assert_allclose(drawn, dataset['peak_delay'].mean('point').values)


def test_summary(series, result):
    mean = series.mean(axis=0)
    fig = plot.summary(result, mean, pixel=(6, 7), point=2, delay=3)
    png_bytes(fig)
    mean_ax, carpet_ax, image_ax = (ax for ax in fig.axes if ax.get_images())
    assert_allclose(drawn_image(mean_ax), mean)
    (cross,) = mean_ax.lines
    assert (cross.get_xdata()[0], cross.get_ydata()[0]) == (7, 6)
    assert_allclose(drawn_image(carpet_ax), result.sel(y=6, x=7).values)
    assert_allclose(drawn_image(image_ax), result.values[:, :, 2, 3])
    with pytest.raises(ValueError, match='outside the result'):
        plot.summary(result, mean, pixel=(0, 0))


def test_series_mean_blocks(monkeypatch, series):
    from ipcf.plot import series as series_module

    monkeypatch.setattr(series_module, '_BLOCK_BYTES', 8 * 14 * 14 * 5)
    monkeypatch.setattr(ipcf.roi, '_CHUNK_BYTES', 2 * 14 * 14 * 5)
    mean, trace = plot.series_mean(series)
    assert_allclose(mean, series.mean(axis=0))
    assert_allclose(trace, series.mean(axis=(1, 2)))
    mean, trace = plot.series_mean(series, frames=7)
    assert trace.shape == (7,)
    assert_allclose(mean, series[:7].mean(axis=0))


def test_series_mean_is_roi_mean_image(monkeypatch, series):
    calls = []
    original = ipcf.roi.mean_image

    def spy(source, /, **kwargs):
        calls.append(kwargs)
        return original(source, **kwargs)

    monkeypatch.setattr(ipcf.roi, 'mean_image', spy)
    plot.series_mean(series, frames=7)
    plot.mean_image(series)
    assert [c['frames'] for c in calls] == [7, None]


def test_series_mean_reads_lazily(tmp_path, series):
    directory = ipcf.io.imwrite_series(tmp_path / 'frames', series[:20])
    mean, trace = plot.series_mean(str(directory))
    assert_allclose(mean, series[:20].mean(axis=0))


def test_draw_maps_computes_them(monkeypatch, stored):
    from ipcf import analysis

    calls = []
    original = analysis.maps

    def spy(result, /, **kwargs):
        calls.append(kwargs)
        return original(result, **kwargs)

    monkeypatch.setattr(analysis, 'maps', spy)
    # the pixel size comes from the source's metadata
    fig = plot.draw(stored[1], 'maps', psf_radius=0.3)
    assert calls == [{'pixel_size': 0.1, 'w': 0.3}]
    expected = original(ipcf.load_result(stored[1]), pixel_size=0.1, w=0.3)
    drawn = drawn_image(fig.axes[0])
    assert_allclose(drawn, expected['peak_delay'].mean('point').values)
    assert fig.axes[0].get_xlabel() == 'x (µm)'


def test_draw_roi_of_stored_result(stored, series, result):
    fig = plot.draw(stored[1], 'roi')
    ax = fig.axes[0]
    assert ax.get_title() == 'mean intensity and analysed pixels'
    assert_allclose(drawn_image(ax), series.mean(axis=0))
    (box,) = ax.patches  # the result's centre pixels, 2..11, in µm
    assert_allclose(box.get_xy(), (0.2, 0.2))
    assert_allclose((box.get_width(), box.get_height()), (1.0, 1.0))


def test_draw_refuses_what_it_cannot_draw(series, result):
    with pytest.raises(ValueError, match='not one of'):
        plot.draw(result, 'bogus')
    with pytest.raises(ValueError, match='pixel_size'):
        plot.draw(result, 'image', pixel_size=0)
    with pytest.raises(ValueError, match='not a'):
        plot.draw(result, 'carpet', pixel=(1, 2, 3))
    with pytest.raises(ValueError, match='needs a pCF result'):
        plot.draw(series, 'carpet')
    with pytest.raises(ValueError, match='needs the image series'):
        plot.draw(result, 'mean')
    with pytest.raises(ValueError, match='outside the delays'):
        plot.draw(result, 'image', delay=1e3)
    with pytest.raises(ValueError, match='pixel size and the PSF'):
        plot.draw(result, 'maps')


def test_browse(series):
    pytest.importorskip('ipywidgets')
    widget = plot.browse(series, dt=1e-3)
    image, frame, contrast, status = widget.children
    assert bytes(image.value).startswith(PNG)
    assert frame.max == len(series) - 1
    first = bytes(image.value)
    frame.value = 5
    assert bytes(image.value) != first
    assert 'frame 5 of 128' in status.value
    assert '0.005 s' in status.value
    contrast.value = (90.0, 110.0)
    assert bytes(image.value).startswith(PNG)


def test_browse_tiff_series(tmp_path, series):
    pytest.importorskip('ipywidgets')
    directory = ipcf.io.imwrite_series(tmp_path / 'frames', series[:10])
    widget = plot.browse(str(directory))
    assert widget.children[1].max == 9


def test_browse_without_ipywidgets(monkeypatch, series):
    import sys

    monkeypatch.setitem(sys.modules, 'ipywidgets', None)
    with pytest.raises(ImportError, match='ipywidgets'):
        plot.browse(series)


@pytest.mark.parametrize(
    'kind',
    [
        'mean',
        'trace',
        'curve',
        'carpet',
        'polar',
        'lines',
        'image',
        'roi',
        'maps',
    ],
)
def test_cli_plot_kinds(kind, stored, tmp_path, capsys):
    _, result_path = stored
    output = tmp_path / f'{kind}.png'
    args = ['plot', str(result_path), '--kind', kind, '-o', str(output)]
    assert main([*args, '--pixel', '6,7', '--point', '2']) == 0
    assert output.read_bytes().startswith(PNG)
    assert str(output) in capsys.readouterr().out


@pytest.mark.parametrize('suffix', ['.svg', '.pdf'])
def test_cli_plot_formats(suffix, stored, tmp_path):
    output = tmp_path / f'grid{suffix}'
    args = ['plot', str(stored[1]), '--delay', '0.001,0.01', '-o']
    assert main([*args, str(output)]) == 0
    assert output.stat().st_size > 1000


def test_cli_plot_data_path(stored, tmp_path):
    for kind in ('mean', 'trace'):
        output = tmp_path / f'{kind}.png'
        args = ['plot', str(stored[0]), '--kind', kind, '-o', str(output)]
        assert main(args) == 0
        assert output.read_bytes().startswith(PNG)


def test_cli_plot_explicit_data(stored, tmp_path):
    moved = ipcf.load_result(stored[1])
    moved.attrs['source'] = 'elsewhere/missing.bin'
    path = ipcf.save_result(moved, tmp_path / 'moved.h5')
    output = tmp_path / 'curve.png'
    args = ['plot', str(path), '--kind', 'curve', '-o', str(output)]
    assert main(args) == 2
    assert main([*args, '--data', str(stored[0])]) == 0


@pytest.mark.parametrize(
    ('extra', 'message'),
    [
        (['--kind', 'carpet', '--pixel', '0,0'], 'outside the result'),
        (['--kind', 'image', '--point', '99'], '--point 99 is out of range'),
        (['--kind', 'nonsense'], 'is not one of'),
        (['--kind', 'image', '--delay', '99'], 'outside the delays'),
        (['--pixel', '1'], 'expected a pixel Y,X'),
        (['-o', 'figure.jpg'], 'must end in .png'),
    ],
)
def test_cli_plot_errors(extra, message, stored, tmp_path, capsys):
    args = ['plot', str(stored[1]), '-o', str(tmp_path / 'x.png')]
    assert main([*args, *extra]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert not (tmp_path / 'x.png').exists()
