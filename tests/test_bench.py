"""Tests of the benchmark scripts in benchmarks/ and of ``ipcf bench``."""

import json
import subprocess
import sys

import numpy
import pytest
from numpy.testing import assert_allclose

import ipcf
from ipcf import cli
from ipcf.cli import main

# the scripts, imported as ipcf bench imports them
correlate = cli._benchmark('correlate')
engine = cli._benchmark('engine')
pipeline = cli._benchmark('pipeline')
format_table = sys.modules['_common'].format_table


def test_format_table_aligns():
    rows = [
        {'name': 'numpy_fft', 'ms': 0.2412, 'n': 2},
        {'name': 'x', 'ms': 123.4, 'n': None},
    ]
    text = format_table(rows, ['name', ('ms', 'time / ms'), 'n'])
    assert text.splitlines() == [
        'name       time / ms  n',
        '---------  ---------  -',
        'numpy_fft       0.24  2',
        'x                123  -',
    ]


def test_format_table_small_values_and_empty():
    text = format_table([{'v': 0.00123}], ['v'])
    assert text.splitlines()[-1] == '0.00123'
    assert format_table([], [('v', 'value')]) == 'value\n-----'


def test_bench_correlate_rows():
    rows = correlate.bench_correlate(
        size=128, num_threads=2, backends=['scipy_fft', 'direct'], repeat=1
    )
    assert [row['backend'] for row in rows] == [
        'numpy_fft',
        'scipy_fft',
        'direct',
    ]
    assert [row['mode'] for row in rows] == ['circular', 'circular', 'linear']
    baseline = rows[0]
    assert baseline['vs_numpy_fft'] == 1.0
    for row in rows:
        assert row['size'] == 128
        assert row['threads'] == 2
        assert row['skipped'] is None
        assert row['t1_ms'] > 0
        assert row['tn_ms'] > 0
        assert row['speedup'] == pytest.approx(row['t1_ms'] * 2 / row['tn_ms'])
        assert row['vs_numpy_fft'] == pytest.approx(
            baseline['t1_ms'] / row['t1_ms']
        )
    json.loads(json.dumps(rows))
    text = format_table(rows, correlate.CORRELATE_COLUMNS)
    assert '1 thread / ms' in text
    assert 'vs numpy_fft' in text


def test_bench_correlate_skips_slow_direct(monkeypatch):
    monkeypatch.setattr(correlate, '_DIRECT_LIMIT_S', 0.0)
    rows = correlate.bench_correlate(
        size=64, num_threads=1, backends=['direct'], repeat=1
    )
    assert rows[1]['backend'] == 'direct'
    assert rows[1]['t1_ms'] is None
    assert 'per call' in rows[1]['skipped']
    columns = correlate.CORRELATE_COLUMNS
    assert '-' in format_table(rows, columns).splitlines()[-1]


@pytest.mark.parametrize(
    ('kwargs', 'error'),
    [
        ({'size': 0}, ValueError),
        ({'size': 1.5}, TypeError),
        ({'repeat': 0}, ValueError),
        ({'num_threads': 0.5}, TypeError),
        ({'backends': ['mkl']}, ValueError),
    ],
)
def test_bench_correlate_errors(kwargs, error):
    with pytest.raises(error):
        correlate.bench_correlate(**kwargs)


def test_bench_engine_rows():
    rows = engine.bench_engine(
        shape=(64, 12, 13), radius=2, npoints=8, nbins=8, repeat=2
    )
    assert [row['engine'] for row in rows] == [
        'cpu',
        'reference (crop)',
        'numpy per pixel (crop)',
    ]
    cpu_row, reference_row, numpy_row = rows
    assert cpu_row['shape'] == '64x12x13'
    assert cpu_row['curves'] == 8 * 9 * 8
    assert reference_row['shape'] == '64x8x8'
    assert reference_row['curves'] == 4 * 4 * 8
    assert reference_row['vs_reference'] == pytest.approx(1.0)
    assert numpy_row['vs_numpy'] == pytest.approx(1.0)
    for row in rows:
        assert row['seconds'] > 0
        assert row['first_s'] >= row['seconds']
        assert row['us_per_pair'] == pytest.approx(2 * row['us_per_curve'])
        assert row['vs_reference'] == pytest.approx(
            reference_row['us_per_curve'] / row['us_per_curve']
        )
    text = format_table(rows, engine.ENGINE_COLUMNS)
    assert 'x reference (per curve, crop)' in text
    with pytest.raises(ValueError, match='not available'):
        engine.bench_engine(shape=(64, 12, 13), radius=2, engines=['nope'])
    with pytest.raises(ValueError, match='does not fit'):
        engine.bench_engine(shape=(64, 12, 13), radius=6)


def test_numpy_baseline_equals_reference():
    rng = numpy.random.default_rng(13)
    data = rng.poisson(100, (100, 11, 12)).astype(numpy.uint16)
    data[:, 4, 4] = 0
    result = engine.numpy_pixel_pcf(data, radius=2, npoints=8, nbins=8)
    expected = ipcf.pcf_image(
        data, radius=2, npoints=8, nbins=8, engine='reference'
    )
    assert_allclose(result, expected, rtol=0, atol=1e-5)


def test_bench_pipeline(tmp_path):
    rows = pipeline.bench_pipeline(
        str(tmp_path), shape=(64 + 2 * 8, 40, 40), bleach='filter:8', block=16
    )
    assert [row['stage'] for row in rows] == ['simulate', 'convert', 'analyze']
    for row in rows:
        assert row['seconds'] > 0
        assert row['peak_rss_mb'] > 10
    text = format_table(rows, pipeline.PIPELINE_COLUMNS)
    assert 'peak RSS / MB' in text
    result = ipcf.load_result(tmp_path / 'result.h5')
    assert result.attrs['frames'] == 64
    assert result.attrs['bleach'] == 'filter:8'


def test_ipcf_bench_engine(capsys):
    args = ['bench', 'engine', '--shape', '16,17', '--frames', '64']
    assert main([*args, '--repeat', '1', '--json']) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]['engine'] == 'cpu'
    assert rows[0]['shape'] == '64x16x17'


def test_ipcf_bench_pipeline_bleach_filter_size(tmp_path, capsys):
    """A bare integer is a filter size, as in ipcf analyze."""
    args = ['bench', 'pipeline', '--shape', '80,40,40', '--bleach', '8']
    assert main([*args, '--block', '16', '--dir', str(tmp_path)]) == 0
    assert 'peak RSS / MB' in capsys.readouterr().out
    assert ipcf.load_result(tmp_path / 'result.h5').attrs['frames'] == 64


@pytest.mark.parametrize(
    'script', ['bench_correlate.py', 'bench_engine.py', 'bench_pipeline.py']
)
def test_scripts_run_by_themselves(script):
    proc = subprocess.run(
        [sys.executable, str(cli._BENCHMARKS / script), '--help'],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert '--json' in proc.stdout


def test_bench_wide_prints_ratio(capsys):
    sys.path.insert(0, str(cli._BENCHMARKS))
    try:
        import bench_wide
    finally:
        sys.path.remove(str(cli._BENCHMARKS))
    args = ['--frames', '64', '--rows', '16', '--widths', '16,40']
    assert bench_wide.main([*args, '--repeat', '1']) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2].startswith('64x16x16') and lines[-2].endswith('1.00')
    assert lines[-1].startswith('64x16x40')
