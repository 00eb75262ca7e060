"""The frame loop shared by the image and volume simulations.

:func:`place` draws the particles' start positions and, with a bleach
time, the frame each goes dark in; :func:`render_series` moves them
chunk by chunk of frames, renders groups of them (:class:`Layer`: a
range of particles, their brightness and the channel they show in) on
the background, and draws the photon noise and camera counts.
:func:`ipcf.simulate.free`, :func:`~ipcf.simulate.channel`,
:func:`~ipcf.simulate.two_species` and the others differ only in the
domain, the layers and the truth they record.

Random streams, spawned from the seed (:func:`random_streams`): 0
places the particles, 1 draws their steps, 2 the photon noise; 3 the
bleaching times (4 for the simulations whose domain draws from 3).

"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy

from .._utils import progress_bar
from ._motion import CHUNK_FRAMES, random_streams, tracks
from ._optics import counts, render, render_volume
from ._parameters import Parameters

__all__ = [
    'BLEACH_STREAM',
    'Layer',
    'Particles',
    'bleached_counts',
    'place',
    'render_series',
]

# frames rendered at once: float64 buffers of about 16 MiB per channel
_CHUNK_PIXELS = 2**21

# x of a bleached particle in pixels: far outside any frame, so the
# render kernels skip it
_DARK = -1e9

BLEACH_STREAM = 3
"""Index of the random stream that draws the bleaching times."""


@dataclasses.dataclass(frozen=True)
class Layer:
    """Particles rendered together with one brightness in one channel.

    Attributes
    ----------
    particles : slice
        Indices of the particles, in the order they were placed.
    brightness : float
        Photons per particle and frame.
    channel : int
        Index of the channel (0 for a series of one channel).

    """

    particles: slice
    brightness: float
    channel: int = 0


@dataclasses.dataclass(frozen=True, eq=False)
class Particles:
    """Start of a simulation: particles placed and the streams to go on.

    Attributes
    ----------
    count : int
        Particles placed.
    positions : ndarray, shape (count, 2) or (count, 3)
        Start positions in pixels (voxels for volumes).
    aspect : tuple of 3 float or None
        Step scale along each axis of a volume; None for images.
    walk, noise : numpy.random.Generator
        Streams of the steps and of the photon noise.
    dark : ndarray of int64 or None
        First frame in which each particle is bleached (dark from then
        on); None: no bleaching.

    """

    count: int
    positions: numpy.ndarray
    aspect: tuple[float, float, float] | None
    walk: numpy.random.Generator
    noise: numpy.random.Generator
    dark: numpy.ndarray | None = None


def place(
    params: Parameters,
    domain: Any,
    /,
    *,
    count: int | None = None,
    bleach_time: float | None = None,
    bleach_stream: int = BLEACH_STREAM,
) -> Particles:
    """Return particles placed uniformly in domain and their streams.

    `count` defaults to the density times the domain's area (or
    volume), in particles per µm² (µm³). With `bleach_time`, each
    particle bleaches at a time drawn from an exponential distribution
    of that mean (s), from stream `bleach_stream`, and is dark in every
    frame from then on: frame ``t`` shows time ``t * frame_time``.

    >>> from ipcf.simulate._domains import Periodic
    >>> from ipcf.simulate._parameters import check_parameters
    >>> params = check_parameters(
    ...     {'shape': (4, 8, 8), 'diffusion': 4.0, 'pixel_size': 0.1,
    ...      'frame_time': 1e-3, 'psf_radius': 0.25, 'density': 5.0,
    ...      'brightness': 50.0, 'background': 2.0, 'offset': 100.0,
    ...      'seed': 0, 'dtype': 'uint16'},
    ...     fraction=None,
    ... )
    >>> start = place(params, Periodic((0, 0), (8, 8)), bleach_time=1e-3)
    >>> start.count, start.positions.shape, start.dark.shape
    (3, (3, 2), (3,))

    """
    place_rng, walk, noise = random_streams(params.seed, 3)
    aspect = None
    if params.volume:
        aspect = (1.0, 1.0, params.aspect)
    if count is None:
        if params.volume:
            voxel = params.pixel_size**2 * params.pixel_size_z
            count = round(params.density * domain.volume * voxel)
        else:
            count = round(params.density * domain.area * params.pixel_size**2)
    positions = domain.sample(count, place_rng)
    dark = None
    if bleach_time is not None:
        fade = random_streams(params.seed, bleach_stream + 1)[bleach_stream]
        lifetime = fade.exponential(bleach_time, count)
        dark = numpy.ceil(lifetime / params.frame_time).astype(numpy.int64)
    return Particles(count, positions, aspect, walk, noise, dark)


def bleached_counts(
    particles: Particles, groups: Sequence[slice], nframes: int, /
) -> list[int]:
    """Return how many particles of each group are dark by the last frame."""
    assert particles.dark is not None
    return [int((particles.dark[g] < nframes).sum()) for g in groups]


def render_series(
    params: Parameters,
    domain: Any,
    particles: Particles,
    layers: Sequence[Layer],
    /,
    *,
    sigma: float | numpy.ndarray,
    channels: int = 1,
    drift: tuple[float, float] | None = None,
    measure: bool = False,
    progress: bool = False,
    desc: str = 'simulate',
) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Return the camera counts and the photons each layer added.

    Particles take steps of `sigma` pixels per axis (one number or one
    per particle) plus `drift` (pixels per frame along x and y) in
    `domain`. Each chunk of frames starts from the background; every
    layer of nonzero brightness adds its particles' spots, in the order
    given; the photon noise is drawn channel after channel, and the
    offset added. The data have shape ``params.shape``, or ``(T,
    channels, ...)`` for several channels.

    The photons of each layer, summed over the series, are measured only
    if `measure` is True (zeros otherwise): a pass over the buffer per
    layer and chunk.

    """
    nframes, *frame = params.shape
    size = int(numpy.prod(frame))
    chunk = max(1, min(CHUNK_FRAMES, _CHUNK_PIXELS // size))
    if channels == 1:
        data = numpy.empty(params.shape, dtype=params.dtype)
    else:
        data = numpy.empty((nframes, channels, *frame), dtype=params.dtype)
    buffer = numpy.empty((channels, chunk, *frame))
    photons = numpy.zeros(len(layers))
    spot: dict[str, Any] = {'width': params.width, 'half': params.half}
    draw = render
    if params.volume:
        spot.update(width_z=params.width_z, half_z=params.half_z)
        draw = render_volume
    dark = particles.dark
    steps = tracks(
        domain,
        particles.positions,
        nframes,
        sigma=sigma,
        rng=particles.walk,
        chunk=chunk,
        drift=drift,
        aspect=particles.aspect,
    )
    with progress_bar(
        nframes, enable=progress, desc=desc, unit='frame'
    ) as bar:
        for start, track in zip(range(0, nframes, chunk), steps, strict=True):
            stop = start + len(track)
            means = buffer[:, : len(track)]
            means.fill(params.background)
            for index, layer in enumerate(layers):
                part = layer.particles
                if layer.brightness == 0.0 or part.stop == part.start:
                    continue
                mean = means[layer.channel]
                where = track[:, part]
                if dark is not None:
                    # a copy: the walk continues from the track's end
                    where = numpy.array(where, dtype=numpy.float64)
                    frames = numpy.arange(start, stop)
                    off = frames[:, None] >= dark[None, part]
                    where[..., 0][off] = _DARK
                if measure:
                    before = mean.sum()
                draw(mean, where, brightness=layer.brightness, **spot)
                if measure:
                    photons[index] += mean.sum() - before
            for index, mean in enumerate(means):
                values = counts(
                    particles.noise.poisson(mean), params.offset, params.dtype
                )
                if channels == 1:
                    data[start:stop] = values
                else:
                    data[start:stop, index] = values
            bar.update(len(track))
    return data, photons
