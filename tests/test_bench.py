import json

import pytest

from ipcf import bench
from ipcf.bench import CORRELATE_COLUMNS, bench_correlate, format_table


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
    rows = bench_correlate(
        size=128, threads=2, backends=['scipy_fft', 'direct'], repeat=1
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
    text = format_table(rows, CORRELATE_COLUMNS)
    assert '1 thread / ms' in text
    assert 'vs numpy_fft' in text


def test_bench_correlate_skips_slow_direct(monkeypatch):
    monkeypatch.setattr(bench, '_DIRECT_LIMIT_S', 0.0)
    rows = bench_correlate(size=64, threads=1, backends=['direct'], repeat=1)
    assert rows[1]['backend'] == 'direct'
    assert rows[1]['t1_ms'] is None
    assert 'per call' in rows[1]['skipped']
    assert '-' in format_table(rows, CORRELATE_COLUMNS).splitlines()[-1]


@pytest.mark.parametrize(
    ('kwargs', 'error'),
    [
        ({'size': 0}, ValueError),
        ({'size': 1.5}, TypeError),
        ({'repeat': 0}, ValueError),
        ({'threads': 0.5}, TypeError),
        ({'backends': ['mkl']}, ValueError),
    ],
)
def test_bench_correlate_errors(kwargs, error):
    with pytest.raises(error):
        bench_correlate(**kwargs)


def test_bench_pipeline(tmp_path):
    from ipcf.bench import PIPELINE_COLUMNS, bench_pipeline, format_table

    rows = bench_pipeline(
        str(tmp_path), shape=(64 + 2 * 8, 40, 40), bleach=8, block=16
    )
    assert [row['stage'] for row in rows] == ['simulate', 'convert', 'analyze']
    for row in rows:
        assert row['seconds'] > 0
        assert row['peak_rss_mb'] > 10
    assert 'peak RSS / MB' in format_table(rows, PIPELINE_COLUMNS)
    import ipcf

    result = ipcf.load_result(tmp_path / 'result.h5')
    assert result.attrs['frames'] == 64
