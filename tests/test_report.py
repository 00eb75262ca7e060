"""Tests of the HTML report and the `ipcf report` command."""

import base64
import html.parser

import numpy
import pytest

import ipcf
from ipcf import plot, report
from ipcf.cli import main

PNG = b'\x89PNG\r\n\x1a\n'
VOID = {'meta', 'img', 'br', 'hr', 'link', 'input'}


class Checker(html.parser.HTMLParser):
    """Collect images, headings and text; check that tags nest."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
        self.errors = []
        self.images = []
        self.headings = []
        self.text = []
        self.doctype = None
        self._heading = None

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        if tag == 'img':
            self.images.append(dict(attrs))
        if tag not in VOID:
            self.stack.append(tag)
        if tag in {'h1', 'h2', 'h3'}:
            self._heading = []

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f'unexpected </{tag}> in {self.stack}')
            return
        self.stack.pop()
        if tag in {'h1', 'h2', 'h3'}:
            self.headings.append(''.join(self._heading))
            self._heading = None

    def handle_data(self, data):
        self.text.append(data)
        if self._heading is not None:
            self._heading.append(data)


def parse(text):
    checker = Checker()
    checker.feed(text)
    checker.close()
    assert checker.doctype.lower() == 'doctype html'
    assert not checker.errors
    assert not checker.stack
    return checker


def assert_images_embedded(checker):
    assert checker.images
    for image in checker.images:
        source = image['src']
        assert source.startswith('data:image/png;base64,')
        data = base64.b64decode(source.split(',', 1)[1], validate=True)
        assert data.startswith(PNG)
        assert image['alt']


@pytest.fixture(scope='module')
def series():
    rng = numpy.random.default_rng(7)
    return rng.poisson(100, (128, 14, 14)).astype(numpy.uint16)


@pytest.fixture(scope='module')
def mask(series):
    mask = numpy.ones(series.shape[1:], bool)
    mask[6, 6] = False
    return mask


@pytest.fixture(scope='module')
def series_metadata():
    return {'pixel_size': 0.1, 'frame_time': 1e-3}


def test_report_is_the_plot_report():
    import ipcf.plot.report

    assert report is ipcf.plot.report
    assert ipcf.report is ipcf.plot.report
    assert plot.report is ipcf.plot.report


def test_report_with_data(series, result):
    text = report.report_html(result, data=series, pixels=[(5, 6)])
    checker = parse(text)
    assert_images_embedded(checker)
    # mean, trace, two pCF image grids; carpet, polar, lines, curve
    assert len(checker.images) == 8
    headings = checker.headings
    for heading in ('Parameters', 'Data', 'Result', 'Run times'):
        assert heading in headings
    assert 'Pixel y=5, x=6' in headings
    body = ' '.join(checker.text)
    assert 'radius' in body and 'reference' in body
    assert '128, 14, 14' in body
    assert 'pixel_size (µm)' not in body  # the array has no metadata


def test_report_without_data(result):
    checker = parse(report.report_html(result, pixels=[(5, 6)]))
    assert_images_embedded(checker)
    assert len(checker.images) == 5
    assert 'not available' in ' '.join(checker.text)


def test_report_from_store_finds_source(stored, tmp_path):
    path = report.write_report(stored[1], tmp_path / 'report.html')
    text = path.read_text(encoding='utf-8')
    checker = parse(text)
    assert_images_embedded(checker)
    # the source's metadata gives the pixel size and the frame interval
    text = ' '.join(checker.text)
    assert 'pixel_size 0.1 µm' in text  # the unit in its column
    assert 'frame_interval 0.001 s' in text
    assert 'Image series' in checker.headings
    # written under a hidden name, then renamed: nothing else is left
    assert [p.name for p in tmp_path.iterdir()] == ['report.html']


def test_write_report_replaces_only_when_complete(result, tmp_path):
    path = tmp_path / 'report.html'
    path.write_text('old', encoding='utf-8')
    with pytest.raises(ValueError, match='outside the result'):
        report.write_report(result, path, pixels=[(0, 0)])
    assert path.read_text(encoding='utf-8') == 'old'
    report.write_report(result, path, pixels=[(5, 6)])
    assert 'Pixel y=5, x=6' in parse(path.read_text('utf-8')).headings
    assert [p.name for p in tmp_path.iterdir()] == ['report.html']


def test_report_maps(monkeypatch, series, result):
    from ipcf import analysis

    without = parse(report.report_html(result, data=series, pixels=[]))
    assert 'Maps' not in without.headings
    assert 'PSF radius' in ' '.join(without.text)
    # the report computes the maps and gives them to the figure
    computed = []
    drawn = []
    compute, draw = analysis.maps, plot.images.maps

    def compute_spy(result, /, **kwargs):
        computed.append(kwargs)
        return compute(result, **kwargs)

    def draw_spy(dataset, /, **kwargs):
        drawn.append(dataset)
        return draw(dataset, **kwargs)

    monkeypatch.setattr(analysis, 'maps', compute_spy)
    monkeypatch.setattr(report, 'maps', draw_spy)
    series = ipcf.io.open_series(series)
    text = report.report_html(
        result, data=series, pixels=[], pixel_size=0.1, psf_radius=0.25
    )
    checker = parse(text)
    assert 'Maps' in checker.headings
    assert_images_embedded(checker)
    assert computed == [{'pixel_size': 0.1, 'w': 0.25}]
    (dataset,) = drawn
    assert 'peak_delay' in dataset.data_vars
    # what the pooled D is; the data record no true D to compare with
    text = ' '.join(checker.text)
    assert f'({dataset.attrs["D_pooled_note"]})' in text
    assert 'not comparable' not in text


def test_report_default_pixels(result):
    pixels = report.representative_pixels(result)
    assert 1 <= len(pixels) <= 3
    assert len(set(pixels)) == len(pixels)
    for y, x in pixels:
        assert numpy.isfinite(result.sel(y=y, x=x)).all()
        assert (y, x) != (6, 6)  # the masked pixel
    checker = parse(report.report_html(result))
    for y, x in pixels:
        assert f'Pixel y={y}, x={x}' in checker.headings


def test_representative_pixels_of_empty_result(result):
    empty = result.copy(data=numpy.full(result.shape, numpy.nan, 'f4'))
    assert report.representative_pixels(empty) == []
    checker = parse(report.report_html(empty))
    assert_images_embedded(checker)
    assert report.representative_pixels(result, count=1) == [
        report.representative_pixels(result)[0]
    ]


def test_report_run_times(result):
    timed = result.copy()
    timed.attrs['timings'] = {'pcf blocks': 12.5, 'store': 0.25}
    timed.attrs['elapsed'] = 13.0
    checker = parse(report.report_html(timed, pixels=[(5, 6)]))
    text = ' '.join(checker.text)
    assert 'pcf blocks 12.5 s' in text and 'timings' not in text
    assert 'elapsed' in text


def test_report_run_times_of_the_run(result):
    """Steps that the result does not record are given to the report."""
    timed = result.copy()
    timed.attrs['timings'] = {'simulate': 8.0, 'pCF (cpu engine)': 1.5}
    text = report.report_html(
        timed, pixels=[(5, 6)], timings={'figures': 2.25}
    )
    checker = parse(text)
    rows = ' '.join(checker.text)
    start = rows.index('Run times')
    order = [
        rows.index(step, start)
        for step in ('simulate', 'pCF (cpu engine)', 'figures', 'this report')
    ]
    assert order == sorted(order)
    assert '2.25 s' in rows
    with pytest.raises(TypeError, match='mapping'):
        report.report_html(result, timings=[('figures', 1.0)])
    with pytest.raises(ValueError, match='>= 0'):
        report.report_html(result, timings={'figures': -1.0})


def test_report_escapes_text(result):
    odd = result.copy()
    odd.attrs['source'] = '<script>alert(1)</script>'
    text = report.report_html(odd, pixels=[(5, 6)])
    assert '<script>' not in text
    parse(text)


def test_report_progress(result, capsys):
    report.report_html(result, pixels=[(5, 6)])
    assert capsys.readouterr().err == ''
    report.report_html(result, pixels=[(5, 6)], progress=True)
    err = capsys.readouterr().err
    assert 'report' in err
    # one step per figure: two pCF image grids, carpet, polar, lines;
    # tqdm may skip drawing the last step within its refresh interval
    assert '0/5' in err


def test_report_bad_arguments(series, result):
    with pytest.raises(ValueError, match='outside the result'):
        report.report_html(result, pixels=[(0, 0)])
    with pytest.raises(ValueError, match='frames'):
        report.report_html(result, data=series[:40])
    with pytest.raises(ValueError, match='outside'):
        report.report_html(result, data=series[:, :8, :8])
    with pytest.raises(TypeError, match='DataArray'):
        report.report_html(numpy.zeros((2, 2, 2, 2)))
    with pytest.raises(ValueError, match='dims'):
        report.report_html(result.transpose('x', 'y', ...))
    with pytest.raises(ValueError, match='pixel_size'):
        report.report_html(result, pixel_size=-1.0)
    with pytest.raises(TypeError, match='psf_radius'):
        report.report_html(result, psf_radius='0.25')
    with pytest.raises(ValueError, match='not a'):
        report.report_html(result, pixels=[(5,)])


def test_report_finds_source_beside_store(stored, monkeypatch, tmp_path):
    data_path, result_path = stored
    monkeypatch.chdir(tmp_path)  # the source is not in the working dir
    result = ipcf.load_result(result_path)
    result.attrs['source'] = data_path.name  # relative to the store
    beside = ipcf.save_result(
        result, data_path.with_name('relative.h5'), source=data_path.name
    )
    checker = parse(report.report_html(beside, pixels=[(5, 6)]))
    assert 'Image series' in checker.headings
    assert str(data_path) in ' '.join(checker.text)
    missing = ipcf.save_result(
        result, data_path.with_name('missing.h5'), source='missing.bin'
    )
    checker = parse(report.report_html(missing, pixels=[(5, 6)]))
    assert 'Image series' not in checker.headings
    assert 'not available' in ' '.join(checker.text)


def test_cli_report(stored, tmp_path, capsys):
    output = tmp_path / 'out.html'
    args = ['report', str(stored[1]), '-o', str(output), '--pixel', '5,6']
    assert main(args) == 0
    assert str(output) in capsys.readouterr().out
    checker = parse(output.read_text(encoding='utf-8'))
    assert_images_embedded(checker)
    assert 'Pixel y=5, x=6' in checker.headings


def test_cli_report_errors(stored, tmp_path, capsys):
    output = tmp_path / 'out.html'
    assert main(['report', str(tmp_path / 'missing.h5'), '-o', str(output)])
    args = ['report', str(stored[1]), '-o', str(output), '--pixel', '0,0']
    assert main(args) == 2
    assert 'outside the result' in capsys.readouterr().err
    assert not output.exists()


# the pooled D of the demo's kind of data ---------------------------------


@pytest.fixture(scope='module')
def channel(tmp_path_factory):
    """A small channel cell as the demo simulates it, and its stored pCF.

    Its walls confine the molecules, so the pooled D is not the
    simulation's D (docs/validation.md, the demo's channel cell).

    """
    tmp = tmp_path_factory.mktemp('channel')
    sim = ipcf.simulate.channel(shape=(4096, 48, 48), seed=42)
    data_path = tmp / 'channel.bin'
    sim.save(data_path)
    result = ipcf.pcf_image(sim.data, radius=6, npoints=32, dt=1e-3)
    result_path = ipcf.save_result(
        result, tmp / 'channel_pcf.h5', source=str(data_path)
    )
    truth = (sim.truth['diffusion'], sim.truth['pixel_size'])
    return data_path, result_path, result, truth


POOLED = (
    'Pooled D: {D_pooled:.3g} ± {D_pooled_error:.2g} µm²/s ({D_pooled_note})'
)
NOT_FREE = (
    " — not comparable with the simulation's D = 4 µm²/s, which is that of "
    'free steps; here walls or compartment edges confine the molecules.'
)


def test_report_says_the_pooled_d_of_confined_molecules_is_apparent(
    monkeypatch, channel, tmp_path
):
    from ipcf import analysis

    data_path, result_path, result, (diffusion, pixel_size) = channel
    assert diffusion == 4.0
    expected = analysis.maps(result, pixel_size=pixel_size, w=0.25).attrs
    assert expected['D_pooled_free'] is False
    assert not 3.5 < expected['D_pooled'] < 4.5
    computed = []
    compute = analysis.maps

    def compute_spy(result, /, **kwargs):
        computed.append(kwargs)
        return compute(result, **kwargs)

    monkeypatch.setattr(analysis, 'maps', compute_spy)
    # the units and the truth come from the simulation the result names
    path = report.write_report(result_path, tmp_path / 'report.html')
    checker = parse(path.read_text(encoding='utf-8'))
    assert 'Maps' in checker.headings
    assert len(computed) == 1  # once, for the figure and the text
    text = ' '.join(checker.text)
    assert POOLED.format(**expected) + NOT_FREE in text


def test_report_pooled_d_of_free_curves_compares(monkeypatch, channel):
    from ipcf import analysis

    data_path, _, result, _ = channel
    compute = analysis.maps

    def free_maps(result, /, **kwargs):
        dataset = compute(result, **kwargs)
        dataset.attrs['D_pooled_free'] = True
        return dataset

    monkeypatch.setattr(analysis, 'maps', free_maps)
    checker = parse(report.report_html(result, data=data_path, pixels=[]))
    text = ' '.join(checker.text)
    assert 'Pooled D: ' in text
    assert 'not comparable' not in text


@pytest.mark.parametrize(
    ('truth', 'cause'),
    [
        ({'kind': 'channel'}, 'walls or compartment edges confine'),
        ({'kind': 'flow', 'velocity': [50, 0]}, 'a flow carries'),
        ({'kind': 'free', 'diffusion': [0.5, 4.0]}, 'several diffusion'),
        ({'kind': 'free'}, 'do not follow the model of free diffusion'),
    ],
)
def test_report_says_why_the_pooled_d_does_not_compare(truth, cause):
    attrs = {
        'D_pooled': 2.0614,
        'D_pooled_error': 0.123,
        'D_pooled_free': numpy.bool_(False),  # as a store gives it back
        'D_pooled_note': 'a fit',
    }
    text, comparable = report._pooled_text(attrs, {'diffusion': 4.0, **truth})
    assert not comparable
    assert text.startswith('Pooled D: 2.06 ± 0.12 µm²/s (a fit) — not ')
    assert cause in text
    assert report._pooled_text(attrs, None) == (
        'Pooled D: 2.06 ± 0.12 µm²/s (a fit)',
        True,
    )


def test_write_report_refuses_to_replace_an_input(channel, tmp_path):
    data_path, result_path, _, _ = channel
    before = result_path.read_bytes(), data_path.read_bytes()
    # the result, and the series it names, which the report would read
    for output in (result_path, data_path):
        with pytest.raises(ValueError, match='would overwrite the input'):
            report.write_report(result_path, output)
    with pytest.raises(ValueError, match='would overwrite the input'):
        report.write_report(result_path, tmp_path / 'r.html', data=tmp_path)
    assert (result_path.read_bytes(), data_path.read_bytes()) == before
