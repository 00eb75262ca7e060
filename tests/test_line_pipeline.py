"""Line-scan pCF block by block through the pipeline, resumable.

Blocks are ranges of lines and positions with a halo of the largest
distance; the stored result equals :func:`ipcf.pcf_line` of the whole
carpet, also for circular orbits, masks, files reopened by every block
and a run interrupted and resumed.

"""

from __future__ import annotations

import numpy
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import ipcf
from ipcf import pipeline
from ipcf.io import imwrite
from ipcf.line import LineAnalysis, analyze_line, pcf_line
from ipcf.store import InterruptedRunError

# Blocked and whole results are the same float32 sums, but BLAS picks its
# kernels by the size of each product, and kernels round differently:
# they agree within 1e-6 plus a few float32 roundings of G, not to the bit
FLOAT32 = {'rtol': 4e-6, 'atol': 1e-6}

DISTANCES = [0, 1, 3, 5]
OPTIONS = {'distance': DISTANCES, 'nbins': 10}


@pytest.fixture(scope='module')
def lines():
    """Three simulated lines (T, L, X), scanned 1 ms apart."""
    sims = [
        ipcf.simulate.line_scan(shape=(512, 40), line_time=1e-3, seed=s).data
        for s in range(3)
    ]
    return numpy.stack(sims, axis=1)


def _check(result, expected):
    assert result.dims == ('line', 'x', 'offset', 'delay')
    assert result.shape == expected.shape
    assert_allclose(result.values, expected.values, **FLOAT32)
    for name in ('line', 'x', 'offset', 'distance', 'delay', 'bin_edge'):
        assert_array_equal(result[name], expected[name])
    for name in ('kind', 'distance', 'dt', 'nbins', 'frames', 'periodic'):
        assert result.attrs[name] == expected.attrs[name]


@pytest.mark.parametrize('periodic', [False, True])
def test_blocks_equal_the_whole_carpet(lines, tmp_path, periodic):
    expected = pcf_line(lines, **OPTIONS, periodic=periodic, line_time=1e-3)
    path = analyze_line(
        lines,
        tmp_path / 'line.h5',
        **OPTIONS,
        periodic=periodic,
        line_time=1e-3,
        block=7,
    )
    _check(ipcf.load_result(path), expected)


def test_one_line_and_a_mask(lines, tmp_path):
    carpet = lines[:, 0]
    mask = numpy.zeros(40, bool)
    mask[10:20] = True
    expected = pcf_line(carpet[:, None], **OPTIONS, mask=mask[None])
    path = analyze_line(
        carpet, tmp_path / 'one.zarr', **OPTIONS, mask=mask, block=4
    )
    result = ipcf.load_result(path)
    _check(result, expected)
    assert numpy.isnan(result.sel(x=25)).all()
    assert numpy.isfinite(result.sel(x=12)).all()


def test_file_reopened_by_every_block(lines, tmp_path):
    source = imwrite(
        tmp_path / 'lines.tif', lines, metadata={'line_time': 2e-3}
    )
    expected = pcf_line(lines, **OPTIONS, line_time=2e-3)
    path = analyze_line(source, tmp_path / 'file.h5', **OPTIONS, block=16)
    result = ipcf.load_result(path)
    _check(result, expected)
    assert result.attrs['source'] == 'lines.tif'


def test_tiff_page(lines, tmp_path):
    tifffile = pytest.importorskip('tifffile')
    carpet = lines[:, 1].astype(numpy.uint16)
    tifffile.imwrite(tmp_path / 'page.tif', carpet)
    expected = pcf_line(carpet[:, None], **OPTIONS, periodic=True)
    path = analyze_line(
        tmp_path / 'page.tif',
        tmp_path / 'page.h5',
        **OPTIONS,
        periodic=True,
        block=9,
    )
    result = ipcf.load_result(path)
    _check(result, expected)
    # read into memory, the carpet is still named by its file
    assert result.attrs['source'] == 'page.tif'


class Interrupt(Exception):
    """Stands for Ctrl-C in the middle of a run."""


def _interrupt_after(monkeypatch, after):
    calls = []
    compute = LineAnalysis.compute

    def stop_after(self, *args, **kwargs):
        if len(calls) == after:
            raise Interrupt
        calls.append(1)
        return compute(self, *args, **kwargs)

    monkeypatch.setattr(LineAnalysis, 'compute', stop_after)
    return calls


def test_resume_after_an_interrupted_run(lines, tmp_path, monkeypatch):
    def go(output, **kwargs):
        options = {**OPTIONS, 'block': 8, 'scheduler': 'synchronous'}
        return analyze_line(lines, output, **{**options, **kwargs})

    reference = ipcf.load_result(go(tmp_path / 'ref.h5'))
    total = len(pipeline.plan_blocks(reference.shape[:2], 8))
    output = tmp_path / 'out.h5'
    with monkeypatch.context() as patch:
        _interrupt_after(patch, 2)
        with pytest.raises(Interrupt):
            go(output)
    assert not output.exists()
    with pytest.raises(InterruptedRunError):
        go(output)
    with pytest.raises(ValueError, match='cannot resume'):
        go(output, distance=[1, 3, 5], resume=True)
    with monkeypatch.context() as patch:
        calls = _interrupt_after(patch, 10**6)
        go(output, resume=True)
    assert len(calls) == total - 2
    resumed = ipcf.load_result(output)
    assert_array_equal(resumed.values, reference.values)
    assert resumed.attrs['timings']['resumed_blocks'] == 2


def test_errors_before_anything_is_written(lines, tmp_path):
    output = tmp_path / 'bad.h5'
    with pytest.raises(ValueError, match=r'distance=20 must be < 20') as info:
        analyze_line(lines, output, distance=20)
    assert '\n' not in str(info.value)
    with pytest.raises(ValueError, match='must be < 40 for circular'):
        analyze_line(lines, output, distance=40, periodic=True)
    with pytest.raises(ValueError, match='is not 2-D'):
        analyze_line(numpy.zeros((64,)), output, distance=1)
    with pytest.raises(ValueError, match='does not match'):
        analyze_line(lines, output, distance=1, mask=numpy.ones(5, bool))
    assert not output.exists()
