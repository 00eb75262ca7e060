"""Time the GPU engine against its targets, on a machine with a GPU.

    python benchmarks/bench_gpu.py [--repeat 5] [--frames 16384]
                                   [--full-shape 512 1024] [--no-full]
                                   [--no-cpu]

Two cases, radius 6, 32 circle points, 32 requested bins (30 remain):

- 16384 x 64 x 64 uint16: ``pcf_image(engine='gpu')`` after a warm-up,
  best of --repeat (target: 20 ms); the same crop with ``engine='cpu'``
  timed in the same run gives the speedup.
- the full 16384 x 512 x 1024 uint16 frame: host numpy array to host
  result (target: 3 s), and the device time of the pCF computation
  without transfers (target: 1 s).

For each case an instrumented run reports the share of transfers, FFTs,
matrix products and the rest, timed with CUDA events on the streams
(stages on the copy stream overlap the computation, so shares are of the
summed stage times). Without CuPy or a GPU it says so and exits with 0.
"""

import argparse
import os
import platform
import sys
import time

import numpy

import ipcf
from ipcf import engines, pcf_image
from ipcf.engines import gpu
from ipcf.pcf import circle, logbins

RADIUS = 6
NPOINTS = 32
NBINS = 32
SMALL_TARGET_S = 0.020
FULL_COMPUTE_TARGET_S = 1.0
FULL_HOST_TARGET_S = 3.0

STAGES = {
    'transfer': ('upload', 'download'),
    'fft': ('fft',),
    'gemm': ('gemm',),
    'rest': ('convert', 'cross', 'scatter'),
}


def best(function, repeat):
    """Return the shortest of repeat wall times of function()."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def run_gpu(data):
    """Return pcf_image of data with the GPU engine."""
    return pcf_image(
        data, radius=RADIUS, npoints=NPOINTS, nbins=NBINS, engine='gpu'
    )


def stages(data):
    """Return seconds per stage of one instrumented run of the engine."""
    nframes = 2 ** int(numpy.log2(data.shape[0]))
    points = circle(RADIUS, NPOINTS)
    edges = logbins(nframes // 2, NBINS)
    height = data.shape[1] - 2 * RADIUS
    width = data.shape[2] - 2 * RADIUS
    out = numpy.empty((height, width, len(points), len(edges)), 'float32')
    timings = {}
    start = time.perf_counter()
    gpu._run(
        numpy.ascontiguousarray(data[:nframes]),
        out,
        points=points,
        edges=edges,
        num_threads=len(os.sched_getaffinity(0)),
        timings=timings,
    )
    timings['wall'] = time.perf_counter() - start
    return timings


def report_stages(timings):
    """Print stage seconds and their shares of the summed device time."""
    device = {
        group: sum(timings.get(name, 0.0) for name in names)
        for group, names in STAGES.items()
    }
    total = sum(device.values())
    for group, seconds in device.items():
        print(
            f'  {group:9} {seconds * 1e3:9.1f} ms  '
            f'{100 * seconds / total:5.1f} %'
        )
    print(
        f'  (host copy into pinned buffers {timings.get("host copy", 0.0):.3f}'
        f' s on the CPU; instrumented wall {timings["wall"]:.3f} s)'
    )
    return total - device['transfer']


def unordered_pairs(shape):
    """Return the number of unordered pixel pairs of an image."""
    return (shape[1] - 2 * RADIUS) * (shape[2] - 2 * RADIUS) * NPOINTS // 2


def verdict(seconds, target):
    """Return 'meets' or 'misses' the target."""
    word = 'meets' if seconds <= target else 'MISSES'
    return f'{word} the {target * 1e3:.0f} ms target'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--frames', type=int, default=16384)
    parser.add_argument('--full-shape', type=int, nargs=2, default=(512, 1024))
    parser.add_argument('--no-full', action='store_true')
    parser.add_argument('--no-cpu', action='store_true')
    args = parser.parse_args(argv)

    if not gpu.available():
        print(
            'bench_gpu: no usable GPU here (CuPy missing or no CUDA '
            'device); nothing to time. Install ipcf[gpu] on a GPU machine.'
        )
        return 0

    import cupy

    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    name = props['name']
    name = name.decode() if isinstance(name, bytes) else name
    total = cupy.cuda.Device().mem_info[1] / 2**30
    print(
        f'{name}, {total:.0f} GiB; CuPy {cupy.__version__}, CUDA runtime '
        f'{cupy.cuda.runtime.runtimeGetVersion()}; host '
        f'{platform.machine()}, {len(os.sched_getaffinity(0))} cores; '
        f'ipcf {ipcf.__version__}'
    )
    print(f'radius {RADIUS}, {NPOINTS} points, {NBINS} bins requested\n')

    rng = numpy.random.default_rng(0)
    shape = (args.frames, 64, 64)
    data = rng.poisson(100, shape).astype(numpy.uint16)
    run_gpu(data)  # warm-up: CUDA context, kernels, FFT plans
    small = best(lambda: run_gpu(data), args.repeat)
    pairs = unordered_pairs(shape)
    print(
        f'{shape[0]}x{shape[1]}x{shape[2]} uint16: gpu {small * 1e3:.1f} ms '
        f'({small / pairs * 1e6:.3f} us per unordered pair), '
        f'{verdict(small, SMALL_TARGET_S)}'
    )
    if not args.no_cpu and 'cpu' in engines.available():

        def run_cpu():
            return pcf_image(
                data, radius=RADIUS, npoints=NPOINTS, nbins=NBINS, engine='cpu'
            )

        run_cpu()
        cpu = best(run_cpu, max(1, args.repeat // 2))
        print(
            f'  cpu engine {cpu * 1e3:.0f} ms on this machine: gpu is '
            f'{cpu / small:.1f}x faster (same run)'
        )
    report_stages(stages(data))

    if args.no_full:
        return 0
    height, width = args.full_shape
    shape = (args.frames, height, width)
    print(f'\nmaking {shape[0]}x{height}x{width} uint16 ...', flush=True)
    # random rows repeated down the frame: timing does not depend on them
    block = rng.integers(80, 120, (args.frames, 64, width), numpy.uint16)
    data = numpy.empty(shape, numpy.uint16)
    for y in range(0, height, 64):
        data[:, y : y + 64] = block[:, : height - y]
    del block
    run_gpu(data)  # warm-up at this size
    full = best(lambda: run_gpu(data), 2)
    pairs = unordered_pairs(shape)
    print(
        f'{shape[0]}x{height}x{width} uint16, host array to host result: '
        f'{full:.2f} s ({full / pairs * 1e6:.3f} us per unordered pair), '
        f'{verdict(full, FULL_HOST_TARGET_S)}'
    )
    compute = report_stages(stages(data))
    print(
        f'  pCF compute on the device (no transfers): {compute:.2f} s, '
        f'{verdict(compute, FULL_COMPUTE_TARGET_S)}'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
