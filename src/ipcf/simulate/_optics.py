"""From particles to camera counts: PSF, photons, camera noise, offset.

A particle's photons are spread by a Gaussian PSF integrated over each
pixel (:func:`render`, or :func:`render_periodic` for a field that wraps
around; :func:`render_volume` for volumes), and the camera adds its
offset and rounds to its dtype (:func:`counts`); the light-sheet
camera's noise is drawn once as an image larger than a frame
(:func:`noise_pool`).

"""

from __future__ import annotations

import math

import numpy

__all__ = [
    'counts',
    'noise_pool',
    'render',
    'render_periodic',
    'render_volume',
]


def render(
    out: numpy.ndarray,
    positions: numpy.ndarray,
    *,
    brightness: float,
    width: float,
    half: int,
) -> None:
    """Add the spots of positions (frames, n, 2) to out (frames, H, W).

    Each spot holds `brightness` photons, spread by a Gaussian of 1/e²
    radius `width` (pixels) integrated over each pixel of a window of
    ``2 * half + 1`` pixels around the pixel holding its centre.

    Examples
    --------
    >>> out = numpy.zeros((1, 16, 16))
    >>> render(out, numpy.array([[[8.0, 8.0]]]), brightness=50.0,
    ...        width=2.5, half=6)
    >>> round(float(out.sum()), 3)
    50.0

    """
    # numba loads on first use: import ipcf.simulate stays light
    from ._kernels import render as kernel

    positions = numpy.ascontiguousarray(positions, dtype=numpy.float64)
    kernel(out, positions, float(brightness), math.sqrt(2.0) / width, half)


def render_volume(
    out: numpy.ndarray,
    positions: numpy.ndarray,
    *,
    brightness: float,
    width: float,
    half: int,
    width_z: float,
    half_z: int,
) -> None:
    """Add the 3-D spots of positions (frames, n, 3) to out (frames, Z, H, W).

    A spot in the focus of a plane gives it `brightness` photons, spread
    laterally as by :func:`render`; a plane whose centre lies ``dz``
    planes away gets ``exp(-2 dz² / width_z²)`` of them (the axial
    profile sampled at the plane's centre, 1/e² radius `width_z` in
    planes), within `half_z` planes of the plane holding the centre.

    Examples
    --------
    >>> out = numpy.zeros((1, 9, 16, 16))
    >>> render_volume(out, numpy.array([[[8.0, 8.0, 4.5]]]),
    ...               brightness=50.0, width=2.5, half=6, width_z=2.5,
    ...               half_z=4)
    >>> round(float(out[0, 4].sum()), 3), round(float(out[0, 5].sum()), 3)
    (50.0, 36.307)

    """
    from ._kernels import render_volume as kernel

    positions = numpy.ascontiguousarray(positions, dtype=numpy.float64)
    kernel(
        out,
        positions,
        float(brightness),
        math.sqrt(2.0) / width,
        half,
        math.sqrt(2.0) / width_z,
        half_z,
    )


def render_periodic(
    positions: numpy.ndarray,
    *,
    tile: int,
    brightness: float,
    width: float,
    half: int,
) -> numpy.ndarray:
    """Return the spots of positions (k, n, 2) on a periodic tile.

    Positions lie in ``[0, tile)``; a spot that crosses an edge shows on
    the opposite side too, so that copies of the tile join without
    seams. The result has shape (k, tile, tile) and `half` must be below
    ``tile / 2``.

    Examples
    --------
    >>> field = render_periodic(numpy.array([[[0.2, 0.5]]]), tile=16,
    ...                         brightness=50.0, width=2.5, half=6)
    >>> field.shape, round(float(field.sum()), 3)
    ((1, 16, 16), 50.0)

    """
    size = tile + 2 * half
    pad = numpy.zeros((len(positions), size, size))
    render(
        pad, positions + half, brightness=brightness, width=width, half=half
    )
    # fold the margins onto the opposite edges
    band = pad[:, half : half + tile].copy()
    band[:, :half] += pad[:, tile + half :]
    band[:, tile - half :] += pad[:, :half]
    field = band[:, :, half : half + tile].copy()
    field[:, :, :half] += band[:, :, tile + half :]
    field[:, :, tile - half :] += band[:, :, :half]
    return field


def counts(
    photons: numpy.ndarray, offset: float, dtype: numpy.dtype
) -> numpy.ndarray:
    """Return photons plus offset, rounded and clipped for integer dtype.

    >>> counts(numpy.array([0, 200]), 100.0, numpy.dtype('uint8'))
    array([100, 255], dtype=uint8)

    """
    values = photons.astype(numpy.float64)
    values += offset
    if dtype.kind in 'ui':
        info = numpy.iinfo(dtype)
        numpy.rint(values, out=values)
        numpy.clip(values, info.min, info.max, out=values)
    return values.astype(dtype)


def noise_pool(
    shape: tuple[int, int],
    *,
    background: float,
    read_noise: float,
    offset: float,
    rng: numpy.random.Generator,
) -> numpy.ndarray:
    """Return an image of camera noise as uint16 counts.

    ``offset + Poisson(background) + Normal(0, read_noise)``, rounded and
    clipped to uint16; frames take windows of it at random offsets.

    >>> rng = numpy.random.default_rng(0)
    >>> pool = noise_pool((4, 4), background=2.0, read_noise=0.0,
    ...                   offset=100.0, rng=rng)
    >>> pool.dtype, bool(pool.min() >= 100)
    (dtype('uint16'), True)

    """
    pool = rng.poisson(background, shape).astype(numpy.float64)
    pool += rng.normal(0.0, read_noise, shape) if read_noise else 0.0
    pool += offset
    numpy.rint(pool, out=pool)
    numpy.clip(pool, 0, 65535, out=pool)
    return pool.astype(numpy.uint16)
