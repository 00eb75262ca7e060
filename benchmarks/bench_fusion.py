"""Measure a bleach correction fused with the engine's conversion to float.

    python benchmarks/bench_fusion.py [--frames 4096] [--filter 1024]
                                      [--pixels 76] [--repeat 3] [--json]

The pipeline corrects a block for photobleaching (uint16 out, the first
and last ``f`` frames dropped), then the cpu engine takes the float64
mean of each pixel over the ``N`` frames it uses and converts the counts
to float32 relative fluctuations ``(x - m) / m``. This script times that
route on one block (``--pixels`` square, single-threaded) against a
prototype kernel that does both in one sweep per pixel run: the forward
smoothing as :func:`ipcf._bleach_kernels.filter_correct`, then the
backward sweep writes the corrected, rounded counts straight into the
float32 series and sums them, and a last pass over each pixel's series
(in cache) subtracts the mean and scales. Both give the same floats; the
table says whether the fused one is faster, and by how much.
"""

import json
import math
import sys
from typing import Any

import numba
import numpy
from _common import best, format_table, poisson_series

FUSION_COLUMNS = (
    ('route', 'route'),
    ('ms', 'time / ms'),
    ('ns_per_sample', 'ns / sample'),
    ('vs_current', 'x current'),
    ('max_diff', 'max |diff|'),
)


@numba.njit(cache=True, nogil=True, error_model='numpy')
def fused_filter_series(
    x, z, size, nused, offset, checkpoint
):  # pragma: no cover
    """Fill z[pixel, :nused] with the converted, corrected series of x.

    ``x`` is (T, H, W) uint16; ``z`` (H * W, L) float32 gets the relative
    fluctuations of the first `nused` corrected frames and zeros after.
    """
    nframes, height, width = x.shape
    f0 = 1.0 / size
    f1 = 1.0 - f0
    nchecks = (nframes - 1) // checkpoint + 1
    acc = numpy.zeros(width, numpy.int64)
    checks = numpy.empty((nchecks, width))
    block = numpy.empty((checkpoint, width))
    mean = numpy.empty(width)
    back = numpy.empty(width)
    sums = numpy.empty(width)
    last = nframes - 1
    for y in range(height):
        for i in range(width):
            v = x[0, y, i]
            acc[i] = v
            back[i] = v
            checks[0, i] = v
            sums[i] = 0.0
        for t in range(1, nframes):
            for i in range(width):
                v = x[t, y, i]
                acc[i] += v
                back[i] = f0 * v + f1 * back[i]
            if t % checkpoint == 0:
                for i in range(width):
                    checks[t // checkpoint, i] = back[i]
        for i in range(width):
            mean[i] = acc[i] / nframes
        for c in range(nchecks - 1, -1, -1):
            t0 = c * checkpoint
            t1 = min(t0 + checkpoint, nframes)
            if t1 <= size:
                break
            for i in range(width):
                block[0, i] = checks[c, i]
            for t in range(t0 + 1, t1):
                for i in range(width):
                    block[t - t0, i] = (
                        f0 * x[t, y, i] + f1 * block[t - t0 - 1, i]
                    )
            lo, hi = t1, -1  # frames of this block that are kept
            for t in range(t1 - 1, t0 - 1, -1):
                if t < size:
                    break
                if t == last:
                    for i in range(width):
                        back[i] = block[t - t0, i]
                else:
                    for i in range(width):
                        back[i] = f0 * block[t - t0, i] + f1 * back[i]
                k = t - size
                if t < nframes - size and k < nused:
                    if hi < 0:
                        hi = t + 1
                    lo = t
                    for i in range(width):
                        s = back[i]
                        m = mean[i]
                        r = math.sqrt(abs(m / s)) * (x[t, y, i] - s) + m
                        r = m if s == 0.0 else r
                        r = min(max(numpy.rint(r), 0.0), 65535.0)
                        block[t - t0, i] = r  # its forward value is used
                        sums[i] += r
            # the block's kept frames into each pixel's series at once
            for i in range(width):
                zj = z[y * width + i]
                for t in range(lo, hi):
                    zj[t - size] = block[t - t0, i]
        for i in range(width):
            zj = z[y * width + i]
            m = sums[i] / nused
            scale = 1.0 / (m - offset) if m > offset else 0.0
            for k in range(nused):
                zj[k] = (zj[k] - m) * scale
            zj[nused:] = 0.0


def current(x, size, nused, z):
    """The pipeline's route: correct, then the engine's means and loads."""
    from ipcf import bleach
    from ipcf.engines import _cpu_kernels

    corrected = bleach.correct(x, method='filter', param=size, num_threads=1)
    used = corrected[:nused]
    height, width = used.shape[1:]
    means = numpy.zeros((height, width))
    _cpu_kernels.block_means(used, 0, height, means, 0, width)
    nblocks = -(-nused // _cpu_kernels.LOAD_FRAMES)
    nblocks += z.shape[1] > nused
    _cpu_kernels.load_series(used, means, 0.0, 0, nblocks, z)


def bench_fusion(
    *, frames: int = 4096, size: int = 1024, pixels: int = 76, repeat: int = 3
) -> list[dict[str, Any]]:
    """Time the current and the fused route on one block; compare them."""
    from ipcf._bleach_kernels import filter_correct  # noqa: F401 - compile

    x = poisson_series((frames, pixels, pixels), 100.0, seed=0)
    # a bleaching trend, as in a real series
    trend = numpy.exp(-numpy.arange(frames) / (2.0 * frames))
    x = numpy.rint(x * trend[:, None, None]).astype(numpy.uint16)
    remaining = frames - 2 * size
    nused = 2 ** int(math.log2(remaining))
    reference = numpy.empty((pixels * pixels, nused), numpy.float32)
    fused = numpy.empty_like(reference)
    current(x, size, nused, reference)  # compile, warm
    fused_filter_series(x, fused, size, nused, 0.0, 256)
    t_current = best(lambda: current(x, size, nused, reference), repeat)
    t_fused = best(
        lambda: fused_filter_series(x, fused, size, nused, 0.0, 256), repeat
    )
    diff = float(numpy.abs(fused - reference).max())
    samples = frames * pixels * pixels
    rows = []
    for route, seconds in (('current', t_current), ('fused', t_fused)):
        rows.append(
            {
                'route': route,
                'frames': frames,
                'filter': size,
                'pixels': pixels,
                'ms': seconds * 1e3,
                'ns_per_sample': seconds * 1e9 / samples,
                'vs_current': t_current / seconds,
                'max_diff': 0.0 if route == 'current' else diff,
            }
        )
    return rows


def main(argv=None, prog=None):
    """Print the table (or JSON) of the options in argv; return 0."""
    from ipcf._options import ArgumentParser, add

    parser = ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument('--frames', type=int, default=4096, metavar='T')
    parser.add_argument('--filter', type=int, default=1024, metavar='F')
    parser.add_argument('--pixels', type=int, default=76, metavar='N')
    parser.add_argument('--repeat', type=int, default=3, metavar='N')
    add(parser, 'json')
    args = parser.parse_args(argv)
    rows = bench_fusion(
        frames=args.frames,
        size=args.filter,
        pixels=args.pixels,
        repeat=args.repeat,
    )
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print(format_table(rows, FUSION_COLUMNS))
    return 0


if __name__ == '__main__':
    sys.exit(main())
