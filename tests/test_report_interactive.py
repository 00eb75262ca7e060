"""Tests of the interactive part of the HTML report.

The data packing and the size rule are tested here directly; the page's
script in a real headless Chromium through Playwright (skipped when
either is missing: ``apt-get install chromium`` and
``pip install playwright``; no browser is downloaded).

"""

import base64
import json
import math
import re
import shutil

import numpy
import pytest
import xarray
from numpy.testing import assert_allclose, assert_array_equal

import ipcf
from ipcf import report
from ipcf.plot import _interactive as interactive

CHROMIUM = ('chromium', 'chromium-browser', 'google-chrome', 'chrome')


@pytest.fixture(scope='module')
def series():
    rng = numpy.random.default_rng(11)
    return rng.poisson(100, (256, 16, 18)).astype(numpy.uint16)


@pytest.fixture(scope='module')
def mask(series):
    mask = numpy.ones(series.shape[1:], bool)
    mask[7, 8] = False
    return mask


@pytest.fixture(scope='module')
def in_pixels(series, result):
    """A report of the series and result, axes in pixels."""
    return report.report_html(result, data=series, pixels=[])


@pytest.fixture(scope='module')
def in_um(series, result):
    """A report of the series and result, axes in µm."""
    return report.report_html(result, data=series, pixel_size=0.1)


def page_data(text):
    """Return the JSON data embedded in a page."""
    match = re.search(
        r'<script type="application/json" id="ipcf-explore-data">(.*?)'
        r'</script>',
        text,
        re.S,
    )
    assert match
    return json.loads(match.group(1))


def decode_values(data):
    raw = base64.b64decode(data['values'], validate=True)
    values = numpy.frombuffer(raw, '<f2').astype(numpy.float64)
    shape = (*data['grid'], *data['shape'][2:])
    return values.reshape(shape) / data['scale']


def fake_result(shape, *, radius=6, value=1e-3):
    """A result of the given shape whose values take no memory."""
    ny, nx, npoints, nbins = shape
    points = ipcf.circle(radius, npoints)
    angle = numpy.arctan2(points[:, 1], points[:, 0])
    return xarray.DataArray(
        numpy.broadcast_to(numpy.float32(value), shape),
        dims=('y', 'x', 'point', 'delay'),
        coords={
            'y': numpy.arange(radius, radius + ny),
            'x': numpy.arange(radius, radius + nx),
            'point': numpy.arange(npoints),
            'u': ('point', points[:, 0]),
            'v': ('point', points[:, 1]),
            'angle': ('point', angle),
            'distance': ('point', numpy.hypot(*points.T.astype(float))),
            'delay': numpy.geomspace(1e-3, 8.0, nbins) - 1e-3,
        },
        attrs={'radius': radius, 'dt': 1e-3, 'npoints': npoints},
    )


# the size rule ------------------------------------------------------------


@pytest.mark.parametrize(
    'shape',
    [(500, 1012, 32, 30), (1012, 500, 32, 30), (60, 60, 32, 30), (9, 3, 8, 5)],
)
def test_block_step_is_the_smallest_that_fits(shape):
    ny, nx, npoints, nbins = shape
    step = interactive.block_step(shape)

    def size(s):
        return math.ceil(ny / s) * math.ceil(nx / s) * npoints * nbins * 2

    assert size(step) <= interactive.MAX_BYTES
    assert step == 1 or size(step - 1) > interactive.MAX_BYTES
    assert interactive.block_step(shape, max_bytes=size(1)) == 1


def test_full_frame_explorer_stays_small():
    """512 x 1024 frame, radius 6, 32 points, 30 delays: under 15 MB."""
    result = fake_result((500, 1012, 32, 30))
    mean = numpy.zeros((512, 1024))
    text = interactive.explore_html(result, mean=mean, pixel_size=0.1)
    assert len(text.encode('utf-8')) < 15_000_000
    data = page_data(text)
    assert data['step'] == 10
    assert data['grid'] == [50, 102]
    values = decode_values(data)
    assert_allclose(values, 1e-3, rtol=2**-11)
    assert data['mean']['grid'] == [512, 1024]


def test_block_means_ignore_nan():
    rng = numpy.random.default_rng(1)
    values = rng.normal(size=(7, 5, 3, 2)).astype(numpy.float32)
    values[0, 0] = numpy.nan  # a masked pixel
    values[4:6, 3:5] = numpy.nan  # a block without values
    means = interactive.block_means(values, 2)
    assert means.shape == (4, 3, 3, 2)
    for j in range(4):
        for i in range(3):
            block = values[2 * j : 2 * j + 2, 2 * i : 2 * i + 2]
            finite = numpy.isfinite(block).any(axis=(0, 1))
            with numpy.errstate(invalid='ignore'):
                expected = numpy.nansum(block, axis=(0, 1)) / numpy.sum(
                    numpy.isfinite(block), axis=(0, 1)
                )
            expected[~finite] = numpy.nan
            assert_allclose(means[j, i], expected, rtol=1e-6)
    assert numpy.isnan(means[2, 2]).all()


def test_pack_keeps_each_pixel_of_small_results(result):
    data = interactive.pack(result)
    assert data['step'] == 1
    assert data['origin'] == [2, 2]
    values = decode_values(data)
    expected = numpy.asarray(result, dtype=numpy.float64)
    assert_array_equal(numpy.isnan(values), numpy.isnan(expected))
    # float16 scaled by a power of two: 11 bits of every value
    finite = numpy.isfinite(expected)
    assert_allclose(values[finite], expected[finite], rtol=2**-11, atol=0)
    assert data['delays'] == pytest.approx(result['delay'].values)
    assert data['u'] == result['u'].values.tolist()


def test_pack_blocks_under_a_budget(result):
    shape = result.shape
    budget = 5 * 5 * shape[2] * shape[3] * 2  # 25 blocks
    data = interactive.pack(result, max_bytes=budget)
    assert data['step'] == 3
    assert data['grid'] == [4, 5]
    expected = interactive.block_means(result, 3)
    assert_allclose(decode_values(data), expected, rtol=2**-11)


def test_mean_image_codes():
    image = numpy.linspace(0, 1, 2500 * 3).reshape(2500, 3)
    image[0, 0] = numpy.nan
    data = interactive.pack(fake_result((4, 4, 4, 3)), mean=image)['mean']
    assert data['factor'] == 3  # 2500 rows in at most 1024
    assert data['grid'] == [834, 1]
    codes = numpy.frombuffer(base64.b64decode(data['values']), numpy.uint8)
    assert codes.max() <= 254  # the NaN pixel's block has other values
    small = interactive.pack(
        fake_result((4, 4, 4, 3)), mean=numpy.array([[numpy.nan, 1.0]])
    )['mean']
    assert base64.b64decode(small['values'])[0] == 255


# static parts: parameters with units, the trace ----------------------------


def test_parameter_rows_have_units(result):
    attrs = dict(
        result.attrs, nbins=32, bleach='filter:16', roi=(0, 16, 0, 18)
    )
    rows = dict(
        interactive.parameter_rows(
            result.assign_attrs(attrs), {'pixel_size': 0.1}
        )
    )
    nbins = result.sizes['delay']
    assert rows['radius (pixel)'] == '2 (0.2 µm)'
    assert rows['nbins'] == f'{nbins} (32 requested)'
    assert rows['dt (s)'] == '0.001'
    assert rows['frames (frame)'] == '256 (0.256 s)'
    assert rows['bleach'] == 'filter:16 (smoothing over 16 frames = 0.016 s)'
    assert rows['roi (y0, y1, x0, x1; pixel)'] == '0, 16, 0, 18'
    last = result['delay'].values[-1]
    assert rows['delays (s)'] == f'0 .. {last:.4g}, log-spaced'
    frames = dict(interactive.parameter_rows(result.assign_attrs(dt=1.0), {}))
    assert frames['radius (pixel)'] == '2'
    assert frames['nbins'] == str(nbins)  # as requested
    assert 'frame interval unknown' in frames['dt']
    assert frames['frames (frame)'] == '256'


def test_decimate_trace_covers_every_sample():
    rng = numpy.random.default_rng(3)
    trace = rng.normal(100, 5, 10_007)
    centre, low, mean, high = interactive.decimate_trace(trace, bins=1000)
    assert len(centre) == 1000
    edges = numpy.linspace(0, trace.size, 1001).round().astype(int)
    for k in (0, 499, 999):
        part = trace[edges[k] : edges[k + 1]]
        assert low[k] == part.min() and high[k] == part.max()
        assert mean[k] == pytest.approx(part.mean())
        assert centre[k] == (edges[k] + edges[k + 1] - 1) / 2
    assert numpy.average(mean, weights=numpy.diff(edges)) == pytest.approx(
        trace.mean()
    )
    short = interactive.decimate_trace(numpy.arange(5.0))
    assert short[2].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_bleach_trend_recovers_a_simulated_decay():
    rng = numpy.random.default_rng(5)
    frames = numpy.arange(20_000)
    trace = 80 + 40 * numpy.exp(-frames / 6000) + rng.normal(0, 2, 20_000)
    centre, _, mean, _ = interactive.decimate_trace(trace)
    trend, tau, amplitude = interactive.bleach_trend(centre, mean)
    assert tau == pytest.approx(6000, rel=0.03)
    assert amplitude == pytest.approx(40, rel=0.03)
    truth = 80 + 40 * numpy.exp(-centre / 6000)
    assert numpy.abs(trend - truth).max() < 0.5


def test_analysed_frames():
    assert interactive.analysed_frames({'frames': 128}, 200) == (0, 128)
    attrs = {'frames': 64, 'bleach': 'filter:16'}
    assert interactive.analysed_frames(attrs, 100) == (16, 80)
    attrs = {'frames': 64, 'bleach': 'exp'}
    assert interactive.analysed_frames(attrs, 100) == (0, 64)


def test_trace_figure_draws_decimated_trace_and_trend():
    trace = 100 + 20 * numpy.exp(-numpy.arange(50_000) / 20_000)
    fig = interactive.trace_figure(trace, dt=1e-3, analysed=(1024, 33792))
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert [len(line.get_xdata()) for line in lines] == [1000, 1000]
    tau = re.search(r'τ = ([0-9.]+) s', lines[1].get_label()).group(1)
    assert float(tau) == pytest.approx(20, rel=2e-3)
    (span,) = ax.patches
    assert span.get_x() == pytest.approx(1.024)
    assert span.get_x() + span.get_width() == pytest.approx(33.791)


# the report --------------------------------------------------------------


def test_report_embeds_the_explorer(series, in_um):
    text = in_um
    assert '<h2>Explore</h2>' in text
    for name in ('mean', 'pcf', 'carpet', 'curves', 'point', 'delay'):
        assert f'id="ipcf-{name}"' in text
    data = page_data(text)
    assert data['pixelSize'] == 0.1
    mean = ipcf.plot.series_mean(series)[0]
    assert data['mean']['low'] == pytest.approx(numpy.percentile(mean, 1.0))
    # nothing fetched by the page: no source or link attributes
    assert not re.search(r'\b(src|href)="(?!data:)', text)
    script = text.split('<script id="ipcf-explore-script">')[1]
    script = script.split('</script>')[0]
    for word in ('http', 'fetch(', 'XMLHttpRequest', 'import(', 'WebSocket'):
        assert word not in script


def test_report_without_data_has_no_mean_panel(result):
    text = report.report_html(result, pixels=[])
    assert 'id="ipcf-pcf"' in text
    assert 'id="ipcf-mean"' not in text
    assert page_data(text)['mean'] is None


# the page in a browser ---------------------------------------------------


@pytest.fixture(scope='module')
def browser():
    sync_api = pytest.importorskip(
        'playwright.sync_api',
        reason='the browser tests need playwright (pip install playwright)',
    )
    executable = next(filter(None, map(shutil.which, CHROMIUM)), None)
    if executable is None:
        pytest.skip(
            'the browser tests need Chromium (apt-get install chromium)'
        )
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=['--no-sandbox']
        )
        yield browser
        browser.close()


class Page:
    """A report opened in the browser, with its messages and requests."""

    def __init__(self, browser, path):
        self.messages = []
        self.requests = []
        self.page = browser.new_page(viewport={'width': 1300, 'height': 900})
        self.page.on(
            'console', lambda m: self.messages.append((m.type, m.text))
        )
        self.page.on(
            'pageerror', lambda e: self.messages.append(('error', str(e)))
        )
        self.page.on('request', lambda r: self.requests.append(r.url))
        self.url = path.as_uri()
        self.page.goto(self.url)
        self.page.wait_for_load_state('load')

    def canvas(self, name):
        """Return a canvas's pixels as PNG data URL (to compare)."""
        return self.page.evaluate(
            "(name) => document.getElementById('ipcf-' + name).toDataURL()",
            name,
        )

    def colours(self, name):
        """Return how many colours a canvas shows."""
        return self.page.evaluate(
            """(name) => {
                const c = document.getElementById('ipcf-' + name);
                const copy = document.createElement('canvas');
                copy.width = c.width;
                copy.height = c.height;
                const ctx = copy.getContext('2d', {willReadFrequently: true});
                ctx.drawImage(c, 0, 0);
                const data = ctx.getImageData(0, 0, c.width, c.height).data;
                const seen = new Set();
                for (let k = 0; k < data.length; k += 4) {
                    const rgb = (data[k] << 16) | (data[k + 1] << 8);
                    seen.add(rgb | data[k + 2]);
                }
                return seen.size;
            }""",
            name,
        )

    def click(self, name, fy, fx):
        """Click at the fractions (fy, fx) of a canvas's plotting box."""
        handle = self.page.query_selector(f'#ipcf-{name}')
        x0, y0, w, h = map(float, handle.get_attribute('data-box').split(','))
        handle.click(position={'x': x0 + fx * w, 'y': y0 + fy * h})
        return x0, y0, w, h

    def text(self, name):
        return self.page.inner_text(f'#ipcf-{name}')

    def close(self):
        self.page.close()


@pytest.fixture
def opened(browser, tmp_path):
    pages = []

    def open_report(text):
        path = tmp_path / f'report{len(pages)}.html'
        path.write_text(text, encoding='utf-8')
        page = Page(browser, path)
        pages.append(page)
        return page

    yield open_report
    for page in pages:
        page.close()


def readout_value(text):
    return float(text.rsplit('= ', 1)[1])


def test_page_loads_without_errors_or_requests(opened, in_um):
    text = in_um
    page = opened(text)
    assert page.messages == []
    assert page.requests == [page.url]
    for name in ('mean', 'pcf', 'carpet', 'curves'):
        assert page.colours(name) > 20, name  # drawn, not blank
    start = page_data(text)['start']
    y, x = (o + s for o, s in zip((2, 2), start, strict=True))
    assert page.text('readout').startswith(f'pixel y={y}, x={x} ')


def test_click_on_mean_image_shows_that_pixel(opened, in_pixels, result):
    page = opened(in_pixels)
    before = page.canvas('carpet')
    curves = page.canvas('curves')
    # the mean image spans pixels 0..17 (x) and 0..15 (y), no pixel size
    fy, fx = (4 + 0.5) / 16, (11 + 0.5) / 18
    page.click('mean', fy, fx)
    assert page.messages == []
    text = page.text('readout')
    assert text.startswith('pixel y=4, x=11;')
    after = page.canvas('carpet')
    assert after != before
    assert page.canvas('curves') != curves
    # the value shown is the result's, through float16
    expected = float(result.sel(y=4, x=11)[0, result.sizes['delay'] // 3])
    assert readout_value(text) == pytest.approx(expected, rel=2e-3)
    # a pixel outside the analysed ones changes nothing
    page.click('mean', 0.5 / 16, 0.5 / 18)
    assert 'outside the analysed pixels' in page.text('readout')
    assert page.canvas('carpet') == after


def test_sliders_change_the_pcf_image(opened, in_pixels, result):
    page = opened(in_pixels)
    image = page.canvas('pcf')
    carpet = page.canvas('carpet')
    delay = result.sizes['delay'] // 3
    assert page.text('delay-text').startswith(f'bin {delay}: ')
    page.page.focus('#ipcf-delay')
    page.page.keyboard.press('ArrowRight')
    assert page.text('delay-text').startswith(f'bin {delay + 1}: ')
    moved = page.canvas('pcf')
    assert moved != image
    assert page.canvas('carpet') != carpet  # the delay marked
    page.page.focus('#ipcf-point')
    page.page.keyboard.press('ArrowRight')
    u, v = int(result['u'][1]), int(result['v'][1])
    assert page.text('point-text').startswith(f'1: u={u}, v={v} pixel')
    assert page.canvas('pcf') != moved
    text = page.text('readout')
    y, x = (int(n) for n in re.match(r'pixel y=(\d+), x=(\d+)', text).groups())
    expected = float(result.sel(y=y, x=x)[1, delay + 1])
    assert readout_value(text) == pytest.approx(expected, rel=2e-3)
    assert page.messages == []


def test_click_on_pcf_image_of_blocks(opened, result):
    """Without data the pCF image is clicked; blocks of 3 x 3 pixels."""
    budget = 5 * 5 * result.shape[2] * result.shape[3] * 2
    fragment = interactive.explore_html(
        result, pixel_size=0.2, max_bytes=budget
    )
    page = opened(
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
        f'{fragment}</body></html>'
    )
    assert page.messages == []
    before = page.canvas('carpet')
    # the image spans 4 x 5 blocks of 3 pixels from pixel 2
    page.click('pcf', 1.5 / 4, 2.5 / 5)
    text = page.text('readout')
    assert text.startswith('pixels y=5..7, x=8..10 (x 1.6..2.2 µm,')
    assert page.canvas('carpet') != before
    expected = interactive.block_means(result, 3)[1, 2, 0]
    expected = float(expected[result.sizes['delay'] // 3])
    assert readout_value(text) == pytest.approx(expected, rel=2e-3)
    assert page.messages == []
