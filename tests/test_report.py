"""Tests of the HTML report and the `ipcf report` command."""

import base64
import html.parser

import numpy
import pytest

import ipcf
from ipcf import report
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
    # the source's metadata gives the pixel size: axes in µm
    assert 'pixel_size' in ' '.join(checker.text)
    assert 'Image series' in checker.headings
    assert not list(tmp_path.glob('.*partial'))


def test_report_maps(series, result):
    without = parse(report.report_html(result, data=series, pixels=[]))
    assert 'Maps' not in without.headings
    assert 'PSF radius' in ' '.join(without.text)
    series = ipcf.io.open_series(series)
    text = report.report_html(
        result, data=series, pixels=[], pixel_size=0.1, psf_radius=0.25
    )
    checker = parse(text)
    assert 'Maps' in checker.headings
    assert_images_embedded(checker)


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
    assert 'timings: pcf blocks' in text and '12.5 s' in text
    assert 'elapsed' in text


def test_report_escapes_text(result):
    odd = result.copy()
    odd.attrs['source'] = '<script>alert(1)</script>'
    text = report.report_html(odd, pixels=[(5, 6)])
    assert '<script>' not in text
    parse(text)


def test_report_progress(result, capsys):
    report.report_html(result, pixels=[(5, 6)], progress=True)


def test_report_bad_arguments(series, result):
    with pytest.raises(ValueError, match='outside the result'):
        report.report_html(result, pixels=[(0, 0)])
    with pytest.raises(ValueError, match='frames'):
        report.report_html(result, data=series[:40])
    with pytest.raises(ValueError, match='outside'):
        report.report_html(result, data=series[:, :8, :8])
    with pytest.raises(ValueError, match='dims'):
        report.report_html(numpy.zeros((2, 2, 2, 2)))


def test_find_source(stored, tmp_path):
    data_path, result_path = stored
    result = ipcf.load_result(result_path)
    assert report.find_source(result, result_path) == data_path
    result.attrs['source'] = data_path.name  # relative to the store
    assert report.find_source(result, result_path) == data_path
    result.attrs['source'] = 'missing.bin'
    assert report.find_source(result, result_path) is None


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
