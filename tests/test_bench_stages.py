"""Tests of the stage timers of the pipeline and their share table."""

import threading

import numpy
import pytest
from numpy.testing import assert_array_equal

import ipcf
from ipcf import cli
from ipcf._stages import StageTimes, timed
from ipcf.pcf import PcfAnalysis
from ipcf.pipeline import run

pipeline = cli._benchmark('pipeline')

ENGINE_STAGES = {'means', 'convert', 'fft', 'binning', 'scatter'}


def test_stage_times_from_threads():
    times = StageTimes()

    def work():
        for _ in range(1000):
            times.add('a', 1.0)
            with timed(times, 'b'):
                pass

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert times.seconds['a'] == 4000.0
    assert 0.0 <= times.seconds['b'] < 4000.0
    assert sum(times.shares().values()) == pytest.approx(1.0)
    with timed(None, 'c'):  # off: nothing to add to
        pass


@pytest.mark.parametrize('wall', [10.0, 4.0])
def test_stage_shares_add_up(wall):
    """Shares of a wall time longer than the steps, and shorter."""
    stages = {
        'read': 1.0,
        'bleach': 0.5,
        'compute': 5.0,
        'means': 0.25,
        'convert': 0.25,
        'fft': 2.0,
        'binning': 1.5,
        'scatter': 0.5,
        'write': 0.25,
        'store': 0.25,
    }
    rows = pipeline.stage_shares(stages, wall)
    assert [row['stage'] for row in rows] == list(pipeline.ANALYZE_STAGES)
    shares = {row['stage']: row['share'] for row in rows}
    assert sum(shares.values()) == pytest.approx(1.0)
    total = max(wall, 7.0)  # the steps sum to 7 s
    assert shares['fft'] == pytest.approx(2.0 / total)
    assert shares['engine other'] == pytest.approx(0.5 / total)
    assert shares['write'] == pytest.approx(0.25 / total)
    assert shares['store'] == pytest.approx(0.25 / total)
    assert shares['other'] == pytest.approx(max(0.0, wall - 7.0) / total)


def test_timed_run_times_every_stage(tmp_path):
    """A run with stages= times each step and computes the same."""
    data = numpy.random.default_rng(0).poisson(100, (96, 20, 20))
    options = {'bleach': 'filter:8', 'block': 8}
    analysis = PcfAnalysis(radius=2, npoints=8, nbins=8, engine='cpu')
    times = StageTimes()
    timed_path = run(
        analysis, [data], tmp_path / 't.h5', **options, stages=times
    )
    plain_path = run(analysis, [data], tmp_path / 'p.h5', **options)
    assert_array_equal(
        ipcf.load_result(timed_path), ipcf.load_result(plain_path)
    )
    expected = {'read', 'bleach', 'compute', 'write', 'store', 'pulled'}
    # the filter gives the means of the rows it corrects: no means pass
    engine_stages = ENGINE_STAGES - {'means'}
    assert expected | engine_stages <= set(times.seconds)
    assert 'means' not in times.seconds
    engine = sum(times.seconds[name] for name in engine_stages)
    assert engine + times.seconds['pulled'] <= times.seconds['compute']
    assert all(value >= 0 for value in times.seconds.values())
    times = StageTimes()
    run(analysis, [data], tmp_path / 'n.h5', bleach=None, stages=times)
    assert ENGINE_STAGES <= set(times.seconds)


def test_bench_pipeline_prints_shares(tmp_path, capsys):
    """The share table names the stages; the shares add up to 1."""
    args = ['--shape', '72,32,32', '--bleach', '8', '--block', '16']
    assert pipeline.main([*args, '--dir', str(tmp_path)]) == 0
    text = capsys.readouterr().out
    table = text.split('analyze stage')[1].splitlines()[2:]
    shares = {}
    for line in table:
        *name, _, share = line.split()
        shares[' '.join(name)] = float(share)
    assert list(shares) == list(pipeline.ANALYZE_STAGES)
    # shares of 0.1 or more print with 2 decimals, others 3 digits
    rounding = sum(0.005 if v >= 0.1 else 0.0005 for v in shares.values())
    assert sum(shares.values()) == pytest.approx(1.0, abs=rounding + 1e-9)
    assert shares['fft'] > 0
    assert shares['binning'] > 0
    assert shares['bleach'] > 0


def test_fused_bleach_prototype_equals_current():
    """The fused prototype of bench_fusion.py gives the engine's floats."""
    import sys

    sys.path.insert(0, str(cli._BENCHMARKS))
    try:
        import bench_fusion
    finally:
        sys.path.remove(str(cli._BENCHMARKS))
    rows = bench_fusion.bench_fusion(frames=300, size=16, pixels=9, repeat=1)
    assert [row['route'] for row in rows] == ['current', 'fused']
    assert rows[1]['max_diff'] == 0.0
    assert rows[0]['vs_current'] == 1.0
