"""Time the maps of a stored pCF result and measure their peak memory.

    python benchmarks/bench_maps.py [--size HxW] [--points 32] [--bins 32]
                                    [--frames 16384] [--rows N] [--whole]
                                    [--dir DIR] [--json]

A result store of the given size is filled with model curves plus noise
(no pCF is computed: the maps cost the same for any values), then each
stage runs in a fresh Python process that reports its time and its peak
resident memory (``ru_maxrss``): ``import`` (the baseline of a process
that imported ipcf, numpy, scipy, xarray and h5py), ``make`` (writing
the fake result block by block), ``maps blocks`` (:func:`ipcf.analysis.
write_maps` of the store, in blocks of rows written as made) and, with
--whole, ``maps whole`` (the result loaded, :func:`ipcf.maps` in memory,
:func:`ipcf.analysis.save_maps`). The size is the input frame; the
result grid lacks the radius (6) on each side. A full frame is
``--size 512x1024`` (a result of 1.9 GB with 32 points and 30 bins).
"""

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import format_table, timed_in_subprocess

from ipcf._options import ArgumentParser, add

DEFAULT_SIZE = (256, 512)
RADIUS = 6

MAPS_COLUMNS = (
    ('stage', 'stage'),
    ('seconds', 'seconds'),
    ('result_mb', 'result / MB'),
    ('peak_rss_mb', 'peak RSS / MB'),
)
"""Keys and titles of the :func:`bench_maps` rows in the table."""

MAKE = """
import numpy, ipcf
from ipcf.analysis import pcf_model
from ipcf.store import ResultWriter, Schema, Variable
# the labels of a tiny result with the same circle and bins
edge = 2 * {radius} + 2
data = numpy.random.default_rng(0).poisson(100, ({frames}, edge, edge))
tiny = ipcf.pcf_image(data, radius={radius}, npoints={points},
                      nbins={bins}, dt=1e-3)
model = pcf_model(tiny, diffusion=4.0, pixel_size=0.1, w=0.25,
                  amplitude=1e-3).values.astype(numpy.float32)
ny, nx = {height} - 2 * {radius}, {width} - 2 * {radius}
schema = Schema.of(tiny)
coords = dict(schema.coords)
coords['y'] = (('y',), numpy.arange({radius}, {radius} + ny))
coords['x'] = (('x',), numpy.arange({radius}, {radius} + nx))
var = schema.variables['pcf']
shape = (ny, nx, *var.shape[2:])
schema = Schema({{'pcf': Variable(var.dims, shape, var.dtype, var.fill,
                 var.attrs)}}, coords=coords,
                attrs={{**schema.attrs, 'pixel_size': 0.1,
                       'psf_radius': 0.25}},
                name='pcf', coord_attrs=schema.coord_attrs)
rng = numpy.random.default_rng(1)
rows = max(1, 2**24 // (nx * model.size))
with ResultWriter({result!r}, schema, chunks=(64, 64),
                  overwrite=True) as writer:
    for y in range(0, ny, rows):
        n = min(rows, ny - y)
        noise = rng.standard_normal((n, nx, *model.shape),
                                    dtype=numpy.float32)
        writer.write(model + 2e-4 * noise, y=y)
"""

STAGES = {
    'import': 'import numpy, scipy, xarray, h5py, ipcf, ipcf.analysis\n',
    'make': MAKE,
    'maps blocks': (
        'from ipcf.analysis import write_maps\n'
        'write_maps({result!r}, {maps!r}, rows={rows!r}, overwrite=True)\n'
    ),
    'maps whole': (
        'import ipcf\n'
        'from ipcf.analysis import maps, save_maps\n'
        'out = maps(ipcf.load_result({result!r}))\n'
        'save_maps(out, {maps!r}, overwrite=True)\n'
    ),
}


def bench_maps(
    directory: str,
    /,
    *,
    size: tuple[int, int] = DEFAULT_SIZE,
    points: int = 32,
    bins: int = 32,
    frames: int = 16384,
    rows: int | None = None,
    stages: tuple[str, ...] = ('import', 'make', 'maps blocks'),
) -> list[dict[str, Any]]:
    """Time the stages of the maps of a fake result store of a frame size.

    Parameters
    ----------
    directory : str
        Working directory for the result and the maps.
    size : (H, W), optional, default: (256, 512)
        Input frame; the result grid is ``(H - 12, W - 12)``.
    points, bins : int, optional, default: 32
        Circle points and requested log bins (32 bins of 16384 frames
        leave 30).
    frames : int, optional, default: 16384
        Frames the result stands for (they set its bins).
    rows : int, optional
        Rows per block of the blocked maps; None: the default.
    stages : tuple of str, optional
        Stages to run, in order, among :data:`STAGES`.

    Returns
    -------
    list of dict
        One row per stage: seconds, the result's size in MB and the
        stage's peak resident memory in MB.

    """
    paths = {
        'result': str(Path(directory) / 'result.h5'),
        'maps': str(Path(directory) / 'maps.h5'),
    }
    height, width = size
    nbins = len(_edges(frames, bins))
    nbytes = (height - 2 * RADIUS) * (width - 2 * RADIUS) * points * nbins * 4
    rows_out = []
    for stage in stages:
        code = STAGES[stage].format(
            radius=RADIUS,
            points=points,
            bins=bins,
            frames=frames,
            height=height,
            width=width,
            rows=rows,
            **paths,
        )
        seconds, rss, _ = timed_in_subprocess(code, f'maps stage {stage!r}')
        rows_out.append(
            {
                'stage': stage,
                'size': list(size),
                'points': points,
                'bins': nbins,
                'seconds': seconds,
                'result_mb': nbytes / 1e6,
                'peak_rss_mb': rss,
            }
        )
    return rows_out


def _edges(frames: int, bins: int) -> Any:
    """Return the log bins of a result of frames (as the pCF makes)."""
    from ipcf import logbins

    return logbins(frames // 2, bins)


def _size(text: str) -> tuple[int, int]:
    """Parse 'HxW' (or 'H,W')."""
    parts = text.lower().replace(',', 'x').split('x')
    if len(parts) != 2:
        msg = f'size {text!r} is not HxW'
        raise ValueError(msg)
    height, width = (int(part) for part in parts)
    if min(height, width) <= 2 * RADIUS + 2:
        msg = f'size {text!r} is too small for radius {RADIUS}'
        raise ValueError(msg)
    return height, width


def main(argv=None, prog=None):
    """Print the table (or JSON) of the options in argv; return 0."""
    parser = ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument(
        '--size',
        type=_size,
        default=DEFAULT_SIZE,
        metavar='HxW',
        help='input frame of the result (default: 256x512)',
    )
    parser.add_argument('--points', type=int, default=32, metavar='N')
    parser.add_argument('--bins', type=int, default=32, metavar='N')
    parser.add_argument('--frames', type=int, default=16384, metavar='N')
    parser.add_argument(
        '--rows',
        type=int,
        default=None,
        metavar='N',
        help='rows per block of the blocked maps (default: about 32 MB)',
    )
    parser.add_argument(
        '--whole',
        action='store_true',
        help='also make the maps in memory (needs several times the result)',
    )
    parser.add_argument(
        '--dir',
        default=None,
        metavar='DIR',
        help='work directory, kept (default: a temporary one, removed)',
    )
    add(parser, 'json')
    args = parser.parse_args(argv)
    stages = ('import', 'make', 'maps blocks')
    if args.whole:
        stages += ('maps whole',)
    options = {
        'size': args.size,
        'points': args.points,
        'bins': args.bins,
        'frames': args.frames,
        'rows': args.rows,
        'stages': stages,
    }
    if args.dir is not None:
        Path(args.dir).mkdir(parents=True, exist_ok=True)
        rows = bench_maps(args.dir, **options)
    else:
        with tempfile.TemporaryDirectory(dir='.') as tmp:
            rows = bench_maps(tmp, **options)
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print(format_table(rows, MAPS_COLUMNS))
    return 0


if __name__ == '__main__':
    sys.exit(main())
