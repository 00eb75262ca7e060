"""The pipeline on a real dask.distributed cluster of separate processes.

A scheduler and two workers are started as their own processes on
127.0.0.1, as a user would start them on cluster nodes; ``analyze`` is
given the scheduler's address. One worker is killed in the middle of a
run: the other finishes it, and the result is identical to a run in one
process.

"""

import json
import signal
import subprocess
import sys
import threading
import time

import numpy
import pytest
from numpy.testing import assert_array_equal

import ipcf

pytest.importorskip('dask.distributed')

OPTIONS = {'radius': 2, 'npoints': 8, 'nbins': 8, 'bleach': 'exp'}


def _dask(*args, log):
    command = [sys.executable, '-m', 'distributed.cli.dask_' + args[0]]
    return subprocess.Popen(
        [*command, *args[1:]], stdout=log, stderr=subprocess.STDOUT
    )


@pytest.fixture(scope='module')
def cluster(tmp_path_factory):
    folder = tmp_path_factory.mktemp('cluster')
    address_file = folder / 'scheduler.json'
    log = open(folder / 'log.txt', 'w')  # noqa: SIM115
    scheduler = _dask(
        'scheduler', '--host', '127.0.0.1', '--port', '0',
        '--no-dashboard', '--scheduler-file', str(address_file), log=log,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not address_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    address = json.loads(address_file.read_text())['address']
    workers = [
        _dask(
            'worker',
            address,
            '--nthreads',
            '1',
            '--no-nanny',
            '--no-dashboard',
            '--name',
            f'w{i}',
            log=log,
        )  # fmt: skip
        for i in range(2)
    ]
    from dask.distributed import Client

    with Client(address, timeout=60) as client:
        client.wait_for_workers(2, timeout=60)
    yield address, workers
    for process in [*workers, scheduler]:
        process.terminate()
    for process in [*workers, scheduler]:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
    log.close()


@pytest.fixture(scope='module')
def series():
    rng = numpy.random.default_rng(11)
    return rng.poisson(80, (512, 22, 21)).astype(numpy.uint16)


def _sources(series, folder):
    import tifffile

    from ipcf.io import imwrite, imwrite_series

    tiff = folder / 'big-endian-zlib.tif'
    tifffile.imwrite(tiff, series.astype('>u2'), compression='zlib')
    return {
        'tiff file': str(tiff),
        'store': str(imwrite(folder / 's.h5', series)),
        'zarr': str(imwrite(folder / 's.zarr', series)),
        'tiff series': str(imwrite_series(folder / 'frames', series)),
        'raw': str(imwrite(folder / 's.bin', series)),
        'array': series,
    }


@pytest.mark.parametrize(
    'kind', ['store', 'zarr', 'tiff series', 'tiff file', 'raw', 'array']
)
def test_every_source_runs_on_the_cluster(cluster, series, tmp_path, kind):
    address, _ = cluster
    source = _sources(series, tmp_path)[kind]
    out = ipcf.analyze(
        source, tmp_path / 'r.h5', scheduler=address, block=8, **OPTIONS
    )
    here = ipcf.analyze(
        source, tmp_path / 'here.h5', scheduler='synchronous', block=8,
        **OPTIONS,
    )  # fmt: skip
    assert_array_equal(ipcf.load_result(out), ipcf.load_result(here))


def test_a_killed_worker_does_not_lose_the_run(cluster, tmp_path):
    address, workers = cluster
    rng = numpy.random.default_rng(12)
    data = rng.poisson(80, (2048, 40, 40)).astype(numpy.uint16)
    from ipcf.io import imwrite

    source = str(imwrite(tmp_path / 's.h5', data))
    out = tmp_path / 'r.h5'
    blocks = tmp_path / '.r.h5.work' / 'blocks'
    errors = []

    def run():
        try:
            ipcf.analyze(source, out, scheduler=address, block=3, **OPTIONS)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (
        not blocks.exists() or len(list(blocks.glob('*.npz'))) < 3
    ):
        time.sleep(0.05)
    assert out.exists() or blocks.exists(), 'the run did not start'
    done_before = len(list(blocks.glob('*.npz'))) if blocks.exists() else -1
    workers[0].send_signal(signal.SIGKILL)
    thread.join(300)
    assert not thread.is_alive(), 'the run did not finish'
    assert not errors, errors
    assert 0 <= done_before < 14 * 14, 'the worker was killed too late'
    expected = ipcf.analyze(
        source, tmp_path / 'here.h5', scheduler='synchronous', block=3,
        **OPTIONS,
    )  # fmt: skip
    assert_array_equal(ipcf.load_result(out), ipcf.load_result(expected))


def test_channels_and_planes_run_on_the_cluster(cluster, tmp_path):
    import tifffile

    address, _ = cluster
    rng = numpy.random.default_rng(13)
    stack = rng.poisson(50, (256, 2, 2, 16, 15)).astype(numpy.uint16)
    stack[:, 1] += stack[:, 0] // 2  # channels share part of their light
    source = tmp_path / 'cell.ome.tif'
    tifffile.imwrite(source, stack, ome=True, metadata={'axes': 'TCZYX'})
    out = ipcf.analyze(
        source, tmp_path / 'r.h5', scheduler=address, block=8, **OPTIONS
    )
    result = ipcf.load_result(out)
    assert result.sizes['z'] == 2 and result.sizes['channel'] == 2
    here = ipcf.analyze(
        source, tmp_path / 'here.h5', scheduler='synchronous', block=8,
        **OPTIONS,
    )  # fmt: skip
    assert_array_equal(result, ipcf.load_result(here))
    # synchronous runs equal pcf_image per plane: test_pipeline_channels
