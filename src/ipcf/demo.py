"""The demonstration run: simulate a channel, compute its pCF, plot it.

:func:`run_demo` is what ``ipcf demo`` and ``make demo`` run. It reuses a
simulation already in the output directory, so a second run only
recomputes the analysis.

"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy

__all__ = ['run_demo']


def run_demo(
    directory: str | Path = 'demo-output',
    /,
    *,
    frames: int = 32000,
    engine: str = 'auto',
    num_threads: int | None = None,
    progress: bool = False,
    report: Callable[[str, float, Path | None], None] | None = None,
) -> dict[str, Path]:
    """Simulate the channel data set, analyse it and write a figure.

    Parameters
    ----------
    directory : str or path, optional, default: 'demo-output'
        Output directory, created when missing.
    frames : int, optional, default: 32000
        Frames to simulate (64x64 pixels); the analysis uses the largest
        power of two that fits (16384 of 32000).
    engine : str, optional, default: 'auto'
        pCF engine, see :func:`ipcf.pcf_image`.
    num_threads : int, optional
        Threads; None uses all cores.
    progress : bool, optional, default: False
        Show progress bars.
    report : callable, optional
        Called as ``report(step, seconds, path)`` after each step.

    Returns
    -------
    dict of str to pathlib.Path
        Paths of the simulation (``'data'``), the stored result
        (``'result'``), the overview figure (``'figure'``,
        ``summary.png``), the figures ``'mean'``, ``'carpet'``,
        ``'polar'`` and ``'image'`` (PNG files of those names) and the
        HTML ``'report'``.

    Notes
    -----
    The seconds of the simulation and of the pCF are stored with the
    result (its ``timings`` attribute); with those of the later steps
    they are the report's "Run times".

    """
    from . import io, plot, simulate
    from ._files import publishing
    from ._sources import relative_source
    from .pcf import pcf_image
    from .plot.report import representative_pixels, write_report
    from .store import save_result

    timings: dict[str, float] = {}

    def step(name: str, start: float, path: Path | None = None) -> None:
        timings[name] = time.perf_counter() - start
        if report is not None:
            report(name, timings[name], path)

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    data_path = directory / 'channel.bin'

    start = time.perf_counter()
    if not _reusable(data_path, frames):
        sim = simulate.channel(
            shape=(frames, 64, 64), seed=42, progress=progress
        )
        sim.save(data_path, overwrite=True)
        step('simulate channel', start, data_path)
    else:
        step('reuse simulation', start, data_path)
    data = io.open_series(data_path)
    truth = io.read_metadata(data_path)

    start = time.perf_counter()
    result = pcf_image(
        data,
        radius=6,
        npoints=32,
        nbins=32,
        dt=float(truth.get('frame_time', 1.0)),
        engine=engine,
        num_threads=num_threads,
        progress=progress,
    )
    step(f'pCF ({result.attrs["engine"]} engine)', start)
    result.attrs['timings'] = dict(timings)
    recorded = set(timings)

    start = time.perf_counter()
    result_path = directory / 'channel_pcf.h5'
    # recorded relative to the result, so the folder can move
    source = relative_source(data_path, result_path)
    save_result(result, result_path, source=source, overwrite=True)
    step('store result', start, result_path)

    start = time.perf_counter()
    mean = plot.series_mean(data, frames=result.attrs['frames'])[0]
    pixel = _channel_pixel(truth, result)
    npoints, nbins = result.shape[2:]
    pixel_size = truth.get('pixel_size')
    # point npoints // 4 looks down the rows, across the channel's walls,
    # which show best at delays of tens to hundreds of milliseconds
    point = npoints // 4
    figures = {
        'figure': plot.summary(
            result,
            mean,
            pixel=pixel,
            point=point,
            delay=nbins // 2,
            pixel_size=pixel_size,
        ),
        'mean': plot.mean_image(mean, mark=pixel, pixel_size=pixel_size),
        'carpet': plot.carpet(result, *pixel),
        'polar': plot.polar(result, *pixel),
        'image': plot.pcf_image(
            result,
            point,
            sorted({nbins // 4, nbins // 2, (3 * nbins) // 4}),
            pixel_size=pixel_size,
        ),
    }
    paths = {'data': data_path, 'result': result_path}
    for name, fig in figures.items():
        file = 'summary.png' if name == 'figure' else f'{name}.png'
        paths[name] = directory / file
        # under a temporary name until complete, as every output
        with publishing(paths[name], overwrite=True) as part:
            fig.savefig(part, format='png', dpi=100)
    step('figures', start, directory)

    start = time.perf_counter()
    paths['report'] = write_report(
        result_path,
        directory / 'report.html',
        data=data_path,
        pixels=list(dict.fromkeys([pixel, *representative_pixels(result, 1)])),
        timings={k: v for k, v in timings.items() if k not in recorded},
        progress=progress,
    )
    step('report', start, paths['report'])
    return paths


def _reusable(path: Path, frames: int) -> bool:
    """Return whether a stored simulation has the requested frames."""
    from . import io

    if not path.exists():
        return False
    try:
        return io.open_series(path).shape == (frames, 64, 64)
    except (OSError, ValueError):
        return False


def _channel_pixel(truth: dict, result) -> tuple[int, int]:
    """Return the result pixel at the channel's centre (or the middle)."""
    ys = result['y'].values
    xs = result['x'].values
    channel = truth.get('geometry', {}).get('channel', {})
    # geometry coordinates start at the top-left corner of pixel [0, 0]
    x, y = channel.get('centre_px', (xs.mean() + 0.5, ys.mean() + 0.5))
    return (
        int(numpy.clip(math.floor(y), ys[0], ys[-1])),
        int(numpy.clip(math.floor(x), xs[0], xs[-1])),
    )
