"""How particles move: Brownian steps, drift and populations.

:func:`tracks` draws the steps of every particle, chunk by chunk of
frames, and lets the domain apply its boundaries; :func:`populations`
splits the particles among diffusion coefficients.

"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy

__all__ = ['CHUNK_FRAMES', 'populations', 'random_streams', 'tracks']

# frames of steps drawn at once
CHUNK_FRAMES = 256


def random_streams(seed: Any, count: int, /) -> list[numpy.random.Generator]:
    """Return `count` independent generators spawned from `seed`.

    The first streams are the same whatever the count, so that a
    simulation that needs one more keeps the others unchanged.

    >>> a, = random_streams(1, 1)
    >>> b, _ = random_streams(1, 2)
    >>> bool(a.random() == b.random())
    True

    """
    children = numpy.random.SeedSequence(seed).spawn(count)
    return [numpy.random.default_rng(child) for child in children]


def tracks(
    domain: Any,
    positions: numpy.ndarray,
    nframes: int,
    *,
    sigma: float | numpy.ndarray,
    rng: numpy.random.Generator,
    chunk: int = CHUNK_FRAMES,
    drift: tuple[float, float] | None = None,
    aspect: tuple[float, ...] | None = None,
) -> Iterator[numpy.ndarray]:
    """Yield positions in pixels frame by frame, chunks of (k, n, ndim).

    Frame ``t`` shows the particles after ``t + 1`` steps of standard
    deviation `sigma` per axis (one number, or one per particle) plus
    `drift` (pixels per frame along x and y); `domain` applies the
    boundaries (see :mod:`ipcf.simulate._domains`). `aspect` scales
    the steps along each axis: ``(1, 1, pixel_size / pixel_size_z)``
    for volumes in voxels.

    Examples
    --------
    >>> from ipcf.simulate._domains import Periodic
    >>> rng = numpy.random.default_rng(0)
    >>> start = numpy.zeros((3, 2))
    >>> chunks = tracks(Periodic((0, 0), (8, 8)), start, 5, sigma=0.5,
    ...                 rng=rng, chunk=2)
    >>> [chunk.shape for chunk in chunks]
    [(2, 3, 2), (2, 3, 2), (1, 3, 2)]

    """
    if not numpy.isscalar(sigma):
        sigma = numpy.asarray(sigma, dtype=numpy.float64)[:, None]
    for start in range(0, nframes, chunk):
        steps = rng.standard_normal(
            (min(chunk, nframes - start), *positions.shape)
        )
        steps *= sigma
        if aspect is not None:
            steps *= aspect
        if drift is not None:
            steps += drift
        track = domain.walk(positions, steps)
        positions = track[-1]
        yield track


def populations(
    fraction: tuple[float, ...], sigmas: tuple[float, ...], count: int, /
) -> tuple[list[int], numpy.ndarray]:
    """Return particles per population and each particle's step sigma.

    Particles go by index, the first ``round(fraction[0] * count)`` to
    the first population and so on; their positions are independent.

    >>> populations((0.25, 0.75), (1.0, 2.0), 4)
    ([1, 3], array([1., 2., 2., 2.]))

    """
    bounds = numpy.rint(numpy.cumsum((0.0, *fraction)) * count)
    bounds[-1] = count
    counts = numpy.diff(bounds).astype(int).tolist()
    return counts, numpy.repeat(sigmas, counts)
