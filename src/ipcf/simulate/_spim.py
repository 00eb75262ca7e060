"""The light-sheet series writer behind :func:`ipcf.simulate.spim`.

Writes one big-endian uint16 TIFF file per frame, chunk by chunk of
frames on a thread pool, into a hidden directory that is renamed to
its target when complete (:func:`ipcf._files.publishing`). Every
argument has been checked by :func:`ipcf.simulate.spim`.

"""

from __future__ import annotations

import os
import pathlib
from typing import Any

import numpy

from .._files import check_target, publishing
from .._utils import progress_bar
from ._domains import COORDINATES, Periodic, cell_outline
from ._motion import tracks
from ._optics import noise_pool, render_periodic
from ._parameters import Parameters
from ._simulation import UNITS

__all__ = ['check_output', 'write']

# camera noise images are cut from a pool this many pixels larger than a
# frame along each axis, at a random offset per frame
_SHIFT = 64
# tile frames simulated at once (render buffers of a few MiB)
_CHUNK = 64


def check_output(directory: pathlib.Path, /, *, overwrite: bool) -> None:
    """Raise FileExistsError unless directory may be written.

    An existing directory is replaced only if `overwrite` and it holds
    nothing but TIFF files and a ``truth.json``.

    """
    check_target(directory, overwrite=overwrite)
    if not (directory.exists() or directory.is_symlink()):
        return
    name = repr(os.fspath(directory))
    if not directory.is_dir():
        msg = f'{name} exists and is not a directory; remove it first'
        raise FileExistsError(msg)
    for path in directory.iterdir():
        if path.name == 'truth.json':
            continue
        if path.is_dir() or path.suffix.lower() not in {'.tif', '.tiff'}:
            msg = (
                f'{name} holds other files than TIFF files and truth.json '
                f'(e.g. {path.name!r}); not replacing it'
            )
            raise FileExistsError(msg)


def write(
    directory: pathlib.Path,
    params: Parameters,
    /,
    *,
    read_noise: float,
    border: float,
    bleach_time: float | None,
    semi_axes: tuple[float, float],
    tile: int,
    prefix: str,
    overwrite: bool,
    progress: bool,
    num_threads: int,
) -> pathlib.Path:
    """Write the series of :func:`ipcf.simulate.spim`; return directory.

    `semi_axes` of the cell are in pixels; `num_threads` is a count.

    """
    import json
    from concurrent.futures import ThreadPoolExecutor

    import tifffile

    from .. import __version__

    nframes, height, width = params.shape
    px = params.pixel_size
    half = params.half
    place, walk, photons, camera, outline = numpy.random.SeedSequence(
        params.seed
    ).spawn(5)
    cell = cell_outline(
        height,
        width,
        semi_axes=semi_axes,
        pixel_size=px,
        rng=numpy.random.default_rng(outline),
    )
    rim_index = cell.rim
    mask = cell.inside.astype(numpy.uint16)
    pool = noise_pool(
        (height + _SHIFT, width + _SHIFT),
        background=params.background,
        read_noise=read_noise,
        offset=params.offset,
        rng=numpy.random.default_rng(camera.spawn(1)[0]),
    )

    # the periodic tile of diffusing particles
    domain = Periodic((0.0, 0.0), (float(tile), float(tile)))
    count = round(params.density * domain.area * px**2)
    positions = domain.sample(count, numpy.random.default_rng(place))
    chunk = max(1, min(_CHUNK, nframes))
    steps = tracks(
        domain,
        positions,
        nframes,
        sigma=params.sigma,
        rng=numpy.random.default_rng(walk),
        chunk=chunk,
    )

    def bleach(start: int, stop: int) -> numpy.ndarray:
        times = numpy.arange(start, stop) * params.frame_time
        if bleach_time is None:
            return numpy.ones(len(times))
        return numpy.exp(-times / bleach_time)

    def make_chunk(start: int, track: numpy.ndarray, seeds: Any) -> tuple:
        field = render_periodic(
            track,
            tile=tile,
            brightness=params.brightness,
            width=params.width,
            half=half,
        )
        factor = bleach(start, start + len(track))
        field *= factor[:, None, None]
        rng = numpy.random.default_rng(seeds)
        counts = rng.poisson(field)
        lights = rng.poisson(
            border * factor[:, None], (len(track), len(rim_index))
        )
        shifts = rng.integers(0, _SHIFT + 1, (len(track), 2))
        peak = int(pool.max()) + int(counts.max(initial=0))
        peak += int(lights.max(initial=0))
        return counts, lights, shifts, peak > 65535

    ny = -(-height // tile)
    nx = -(-width // tile)
    digits = max(5, len(str(nframes - 1)))
    truth = {
        'kind': 'spim',
        'shape': list(params.shape),
        'dtype': 'uint16',
        'byteorder': '>',
        'files': [
            f'{prefix}{0:0{digits}d}.tif',
            f'{prefix}{nframes - 1:0{digits}d}.tif',
        ],
        'diffusion': params.diffusion,
        'pixel_size': params.pixel_size,
        'frame_time': params.frame_time,
        'psf_radius': params.psf_radius,
        'density': params.density,
        'brightness': params.brightness,
        'background': params.background,
        'offset': params.offset,
        'read_noise': read_noise,
        'border': border,
        'bleach_time': bleach_time,
        'seed': params.seed,
        'tile': tile,
        'particles': count,
        'geometry': {
            'coordinates': COORDINATES,
            'cell': cell.geometry,
            'boundary': (
                f'particles diffuse freely in a periodic {tile}x{tile} '
                f'pixel field repeated across the frame and cut by the '
                f'cell outline'
            ),
        },
        'noise': (
            'per frame, a window at a random offset (up to '
            f'{_SHIFT} pixels) of one pre-drawn image of offset + '
            'Poisson(background) + Normal(0, read_noise), rounded'
        ),
        'units': {
            **UNITS,
            'read_noise': 'counts',
            'border': 'photons/pixel/frame',
            'bleach_time': 's',
            'tile': 'pixels',
        },
        'package': f'ipcf {__version__}',
    }

    def write_frame(
        folder: pathlib.Path,
        index: int,
        counts: numpy.ndarray,
        lights: numpy.ndarray,
        shift: numpy.ndarray,
        wide: bool,
    ) -> None:
        repeated = numpy.empty((ny, tile, nx, tile), numpy.uint16)
        repeated[...] = counts[None, :, None, :]
        field = repeated.reshape(ny * tile, nx * tile)[:height, :width]
        dy0, dx0 = int(shift[0]), int(shift[1])
        noise = pool[dy0 : dy0 + height, dx0 : dx0 + width]
        if wide:  # sums above 65535: add in 32 bits and clip
            frame = numpy.multiply(field, mask, dtype=numpy.uint32)
            frame += noise
            frame.ravel()[rim_index] += lights
            frame = numpy.minimum(frame, 65535).astype(numpy.uint16)
        else:
            frame = numpy.multiply(field, mask)
            frame += noise
            frame.ravel()[rim_index] += lights.astype(numpy.uint16)
        tifffile.imwrite(
            folder / f'{prefix}{index:0{digits}d}.tif',
            frame.byteswap().view('>u2'),
            byteorder='>',
            photometric='minisblack',
            metadata={'metadata': truth} if index == 0 else None,
        )

    def work(
        folder: pathlib.Path, start: int, track: numpy.ndarray, seeds: Any
    ) -> None:
        counts, lights, shifts, wide = make_chunk(start, track, seeds)
        for i in range(len(track)):
            write_frame(
                folder, start + i, counts[i], lights[i], shifts[i], wide
            )

    bar = progress_bar(
        nframes * height * width * 2,
        enable=progress,
        desc=f'writing {directory.name}',
        unit='B',
        unit_scale=True,
    )
    directory.parent.mkdir(parents=True, exist_ok=True)
    frame_bytes = height * width * 2
    # each chunk of frames is made and written by one thread, with its own
    # random numbers: the same data whatever the number of threads
    starts = range(0, nframes, chunk)
    seeds = photons.spawn(len(starts))
    with (
        bar,
        publishing(directory, overwrite=overwrite, directory=True) as tmp,
        ThreadPoolExecutor(num_threads) as executor,
    ):
        pending: list = []
        for start, track, seed in zip(starts, steps, seeds, strict=True):
            if len(pending) > num_threads:
                future, size = pending.pop(0)
                future.result()
                bar.update(size)
            future = executor.submit(work, tmp, start, track, seed)
            pending.append((future, frame_bytes * len(track)))
        for future, size in pending:
            future.result()
            bar.update(size)
        (tmp / 'truth.json').write_text(
            json.dumps(truth, indent=1) + '\n', encoding='utf-8'
        )
    return directory
