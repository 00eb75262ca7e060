"""Tests of the ipcf command line interface."""

import json
import subprocess
import sys

import numpy
import pytest

import ipcf
from ipcf.cli import main


def run(*args):
    """Run `python -m ipcf` and return the completed process."""
    return subprocess.run(
        [sys.executable, '-m', 'ipcf', *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_version(capsys):
    assert main(['--version']) == 0
    assert ipcf.__version__ in capsys.readouterr().out


def test_python_m_help():
    proc = run('--help')
    assert proc.returncode == 0
    for command in ('demo', 'simulate', 'info', 'bench'):
        assert command in proc.stdout


def test_no_command(capsys):
    assert main([]) == 2


def test_usage_error(capsys):
    assert main(['simulate', 'nonsense', 'out.bin']) == 2
    assert main(['bench', 'engine', '--shape', '1,2']) == 2


@pytest.mark.parametrize(
    'args',
    [
        ['info', '{tmp}/missing.tif'],
        ['info', '{tmp}/corrupt.tif'],
        ['info', '{tmp}/corrupt.h5'],
        ['info', '{tmp}/no_sidecar.bin'],
    ],
)
def test_user_errors_are_one_line(tmp_path, args):
    (tmp_path / 'corrupt.tif').write_bytes(b'II*\x00garbage')
    (tmp_path / 'corrupt.h5').write_bytes(b'garbage')
    (tmp_path / 'no_sidecar.bin').write_bytes(b'\x00' * 64)
    proc = run(*[a.format(tmp=tmp_path) for a in args])
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith('ipcf: error:')
    assert 'Traceback' not in proc.stderr


def test_simulate_and_info(tmp_path, capsys):
    out = tmp_path / 'free.bin'
    args = ['simulate', 'free', str(out), '--frames', '64', '--shape', '16,16']
    assert main([*args, '--seed', '1']) == 0
    data = ipcf.io.open_series(out)
    assert data.shape == (64, 16, 16)
    assert main([*args, '--seed', '1']) == 2  # exists
    capsys.readouterr()
    assert main(['info', str(out)]) == 0
    text = capsys.readouterr().out
    assert '(64, 16, 16)' in text
    assert 'uint16' in text


def test_bench_correlate_json(capsys):
    assert main(['bench', 'correlate', '--size', '256', '--json']) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {row['backend'] for row in rows} >= {'numpy_fft', 'direct'}


def test_demo_small(tmp_path):
    proc = run('demo', str(tmp_path / 'demo'), '--frames', '256', '--quiet')
    assert proc.returncode == 0, proc.stderr
    for name in ('channel.bin', 'channel_pcf.h5', 'summary.png'):
        assert (tmp_path / 'demo' / name).stat().st_size > 0
        assert str(tmp_path / 'demo' / name) in proc.stdout
    result = ipcf.load_result(tmp_path / 'demo' / 'channel_pcf.h5')
    assert result.shape == (52, 52, 32, len(ipcf.logbins(128, 32)))
    assert numpy.isfinite(result.values).all()
