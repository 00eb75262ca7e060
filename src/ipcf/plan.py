"""Analysis plans: which pairs to correlate, over which delays, how.

Every correlation analysis of ipcf is one plan handed to an engine: the
neighbour offsets (a circle in 2-D, ``±d`` on a line, offset 0 for an
autocorrelation), the frames used, the delay bins and their smoothing,
the mode, and which input serves as centre and which as neighbour. A
public function (:func:`ipcf.pcf_image`) validates its arguments and
builds the plan once; engines (:mod:`ipcf.engines`) receive it and pull
the rows they need from a reader, without checking anything again.

This module also holds the pieces every plan is made of: the circle of
neighbours (and the sphere of neighbours of volumes), the log bins, the
bin averages and the smoothing.

"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

import numpy

from ._validate import check_int, check_real

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    'Plan',
    'average_bins',
    'bin_delays',
    'circle',
    'logbins',
    'smooth',
    'smoothing_matrix',
    'sphere',
    'sphere_depth',
]

GOLDEN_ANGLE = math.pi * (3.0 - math.sqrt(5.0))
"""Azimuth step of the golden-spiral lattice of :func:`sphere`, radians."""

SMOOTH_WEIGHT = 0.3
"""Weight of a bin's own value in each pass of :func:`smooth`."""


@dataclasses.dataclass(frozen=True, eq=False)
class Plan:
    """What an engine computes: pairs, delays, bins, mode, directions.

    Attributes
    ----------
    offsets : ndarray, shape (P, ndim), int
        Neighbour offsets from a centre, one row per point, in axis order
        ``(u, v)`` = (x, y) for images and ``(u, v, w)`` = (x, y, z) for
        volumes; all zeros is the centre itself.
    halo : tuple of int
        Margin of the result grid inside the input, per spatial axis in
        array order, ``(y, x)`` for images and ``(z, y, x)`` for volumes:
        the result's pixel ``[0, 0]`` is input pixel ``halo``. At least
        the largest offset along each axis.
    nframes : int
        Frames used (``N``), the first of the input.
    edges : tuple of int
        Exclusive upper edges of the delay bins, in frames.
    mode : {'circular', 'linear'}
        Circular correlation over ``N`` frames or zero-padded linear.
    smoothing : bool
        Smooth binned curves forward and backward (:func:`smooth`).
    cross : bool
        Centres come from input channel 0 and neighbours from channel 1.
        Otherwise both from channel 0.
    reverse : bool
        With `cross`, also the curves of centres in channel 1 toward
        neighbours in channel 0, from the same pairs.
    offset : float
        Camera offset in counts, at least 0: the curves are normalised by
        ``(<a> - offset) (<b> - offset)`` instead of ``<a> <b>``, and
        pairs with a pixel whose mean does not exceed it are NaN.
    curves : ndarray of bool, shape (ndirections, P), optional
        The curves wanted, per direction and point; engines may leave the
        others as they are. None (the default) wants every curve.
        :mod:`ipcf.engines._volume` uses it to compute each curve of a
        volume once.

    Examples
    --------
    >>> plan = Plan.image(radius=2, npoints=4, nframes=64, nbins=8)
    >>> plan.offsets.tolist(), plan.halo, plan.nbins
    ([[2, 0], [0, 2], [-2, 0], [0, -2]], (2, 2), 7)

    """

    offsets: NDArray[numpy.intp]
    halo: tuple[int, ...]
    nframes: int
    edges: tuple[int, ...]
    mode: str = 'circular'
    smoothing: bool = True
    cross: bool = False
    reverse: bool = False
    offset: float = 0.0
    curves: NDArray[numpy.bool_] | None = None

    @classmethod
    def image(
        cls,
        *,
        radius: int,
        npoints: int | None,
        nframes: int,
        nbins: int,
        mode: str = 'circular',
        cross: bool = False,
        reverse: bool = False,
        offset: float = 0.0,
    ) -> Plan:
        """Return the plan of the circle pCF of an image series."""
        return cls(
            offsets=circle(radius, npoints),
            halo=(radius, radius),
            nframes=nframes,
            edges=tuple(int(e) for e in logbins(nframes // 2, nbins)),
            mode=mode,
            cross=cross,
            reverse=reverse,
            offset=offset,
        )

    @classmethod
    def volume(
        cls,
        *,
        radius: int,
        npoints: int | None,
        nframes: int,
        nbins: int,
        z_ratio: float = 1.0,
        mode: str = 'circular',
        cross: bool = False,
        reverse: bool = False,
        offset: float = 0.0,
    ) -> Plan:
        """Return the plan of the sphere pCF of a volume series.

        The halo is ``(round(radius / z_ratio), radius, radius)``: the
        sphere's extent in planes, rows and columns.

        >>> plan = Plan.volume(radius=2, npoints=6, nframes=64, nbins=8)
        >>> plan.offsets.shape, plan.halo
        ((6, 3), (2, 2, 2))

        """
        points = sphere(radius, npoints, z_ratio=z_ratio)
        return cls(
            offsets=points,
            halo=(sphere_depth(radius, z_ratio), radius, radius),
            nframes=nframes,
            edges=tuple(int(e) for e in logbins(nframes // 2, nbins)),
            mode=mode,
            cross=cross,
            reverse=reverse,
            offset=offset,
        )

    @property
    def ndim(self) -> int:
        """Spatial dimensions: 2 for images, 3 for volumes."""
        return len(self.halo)

    @property
    def npoints(self) -> int:
        """Number of neighbour offsets."""
        return len(self.offsets)

    @property
    def nbins(self) -> int:
        """Number of delay bins."""
        return len(self.edges)

    @property
    def ndirections(self) -> int:
        """Result directions: 2 with `reverse`, else 1."""
        return 2 if self.reverse else 1

    def grid(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """Return the result grid of an input of spatial shape."""
        return tuple(
            int(n) - 2 * h for n, h in zip(shape, self.halo, strict=True)
        )

    def out_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """Return ``(directions, *grid, points, bins)`` for an input."""
        return (self.ndirections, *self.grid(shape), self.npoints, self.nbins)


def circle(radius: int, npoints: int | None = 32) -> NDArray[numpy.intp]:
    """Return integer pixel offsets of points on a circle.

    Parameters
    ----------
    radius : int
        Circle radius in pixels, at least 1.
    npoints : int or None, optional, default: 32
        Number of points, at least 1. An even count makes point
        ``i + npoints // 2`` the negative of point ``i``.
        ``None`` chooses ``4 * floor(sqrt(2) * radius + 0.5)`` points,
        which avoids duplicate points up to a radius of 12.

    Returns
    -------
    ndarray, shape (npoints, 2), dtype intp
        Offsets ``(u, v)``: ``u`` along x (columns), ``v`` along y (rows).

    Notes
    -----
    Point ``i`` is at angle ``2 * pi * i / npoints``, rounded half to even:
    ``(round(r * cos(angle)), round(r * sin(angle)))``.

    Examples
    --------
    >>> circle(6, 32)[:8].tolist()
    [[6, 0], [6, 1], [6, 2], [5, 3], [4, 4], [3, 5], [2, 6], [1, 6]]
    >>> len(circle(4, None))
    24

    """
    radius = check_int(radius, 'radius', minimum=1)
    if npoints is None:
        npoints = 4 * math.floor(math.sqrt(2) * radius + 0.5)
    npoints = check_int(npoints, 'npoints', minimum=1)
    angle = numpy.arange(npoints) * (2.0 * numpy.pi / npoints)
    points = numpy.empty((npoints, 2), dtype=numpy.intp)
    points[:, 0] = numpy.round(radius * numpy.cos(angle))
    points[:, 1] = numpy.round(radius * numpy.sin(angle))
    return points


def sphere(
    radius: int, npoints: int | None = 32, *, z_ratio: float = 1.0
) -> NDArray[numpy.intp]:
    """Return integer voxel offsets of points spread evenly on a sphere.

    Parameters
    ----------
    radius : int
        Sphere radius in lateral pixels, at least 1.
    npoints : int or None, optional, default: 32
        Number of points, at least 1. An even count makes point
        ``i + npoints // 2`` the negative of point ``i``, as on the
        circle. ``None`` chooses the largest even count up to
        ``4 * radius * max(1, min(radius, round(radius / z_ratio)))``
        that puts no two points on one voxel.
    z_ratio : float, optional, default: 1.0
        z voxel size over lateral pixel size (> 0): z components are
        divided by it before rounding, so that the sphere is round in
        physical units and ``radius / z_ratio`` planes deep.

    Returns
    -------
    ndarray, shape (npoints, 3), dtype intp
        Offsets ``(u, v, w)``: ``u`` along x (columns), ``v`` along y
        (rows), ``w`` along z (planes).

    Raises
    ------
    ValueError
        If a point rounds to the centre ``(0, 0, 0)``, which happens only
        when `z_ratio` exceeds about twice the radius.

    Notes
    -----
    A golden-spiral (Fibonacci) lattice: for ``j = 0, 1, ...``::

        c_j = 1 - (2 j + 1) / npoints           (cosine of the polar angle)
        phi_j = j * pi * (3 - sqrt(5))          (azimuth, the golden angle)
        e_j = (sqrt(1 - c_j**2) cos phi_j, sqrt(1 - c_j**2) sin phi_j, c_j)

    and ``(u, v, w) = round(radius * (e_x, e_y, e_z / z_ratio))``, half to
    even. For an odd count point ``i`` is ``e_i``. For an even count the
    first half (``j < npoints / 2``, the upper hemisphere in bands of
    equal area) is ``e_j`` and the second half its negative, so that the
    mean of the unit vectors is exactly zero. The first point is at
    azimuth 0 next to the pole: ``c_0 = 1 - 1 / npoints``.
    Rounding may put several points on one voxel (more points than the
    sphere has voxels); they are kept.

    Examples
    --------
    >>> sphere(2, 8)[:4].tolist()
    [[1, 0, 2], [-1, 1, 1], [0, -2, 1], [1, 2, 0]]
    >>> bool((sphere(2, 8)[4:] == -sphere(2, 8)[:4]).all())
    True
    >>> sphere(4, 8, z_ratio=2.0)[:, 2].tolist()
    [2, 1, 1, 0, -2, -1, -1, 0]
    >>> len(sphere(2, None))
    16

    """
    radius = check_int(radius, 'radius', minimum=1)
    z_ratio = check_real(z_ratio, 'z_ratio', positive=True)
    if npoints is not None:
        npoints = check_int(npoints, 'npoints', minimum=1)
        points = _sphere(radius, npoints, z_ratio)
    else:
        depth = max(1, min(radius, sphere_depth(radius, z_ratio)))
        npoints = 4 * radius * depth
        points = _sphere(radius, npoints, z_ratio)
        while npoints > 2 and len(numpy.unique(points, axis=0)) < npoints:
            npoints -= 2
            points = _sphere(radius, npoints, z_ratio)
    centre = numpy.flatnonzero(~points.any(axis=1))
    if centre.size:
        msg = (
            f'sphere({radius=}, {npoints=}, {z_ratio=}) rounds point '
            f'{int(centre[0])} to the centre (0, 0, 0); choose a radius '
            f'above z_ratio / 2 = {z_ratio / 2}'
        )
        raise ValueError(msg)
    return points


def sphere_depth(radius: int, z_ratio: float = 1.0) -> int:
    """Return the planes a sphere reaches above and below its centre.

    ``round(radius / z_ratio)``: at least the largest ``|w|`` of
    :func:`sphere`'s points.

    >>> sphere_depth(6, 3.0), sphere_depth(1, 3.0)
    (2, 0)

    """
    return round(radius / z_ratio)


def _sphere(radius: int, npoints: int, z_ratio: float) -> numpy.ndarray:
    """Return the rounded lattice of :func:`sphere` (arguments checked)."""
    half = npoints // 2 if npoints % 2 == 0 else npoints
    j = numpy.arange(half)
    cosine = 1.0 - (2.0 * j + 1.0) / npoints
    sine = numpy.sqrt(1.0 - cosine * cosine)
    azimuth = j * GOLDEN_ANGLE
    unit = numpy.empty((npoints, 3))
    unit[:half, 0] = sine * numpy.cos(azimuth)
    unit[:half, 1] = sine * numpy.sin(azimuth)
    unit[:half, 2] = cosine
    unit[half:] = -unit[: npoints - half]
    scale = numpy.array([radius, radius, radius / z_ratio])
    return numpy.round(unit * scale).astype(numpy.intp)


def logbins(size: int, nbins: int = 32) -> NDArray[numpy.intp]:
    """Return exclusive upper edges of logarithmic delay bins.

    Parameters
    ----------
    size : int
        Number of non-negative delays to cover, ``N // 2`` for ``N``
        frames. At least 1.
    nbins : int, optional, default: 32
        Number of bins requested, at least 2. Duplicate edges are dropped,
        so fewer bins may remain.

    Returns
    -------
    ndarray, dtype intp
        Increasing edges; bin 0 holds delays ``[0, edges[0])``, bin ``k``
        holds ``[edges[k-1], edges[k])``. The last edge is `size`.

    Notes
    -----
    ``edges = unique(int(2 ** linspace(0, log2(size), nbins)))``, with the
    last edge set to `size` exactly: for sizes that are not powers of two,
    floating-point rounding would otherwise drop the last delay.

    Examples
    --------
    >>> logbins(8192, 32).tolist()  # doctest: +NORMALIZE_WHITESPACE
    [1, 2, 3, 4, 5, 7, 10, 13, 18, 24, 32, 43, 58, 78, 104, 139, 187,
     250, 334, 447, 598, 800, 1070, 1432, 1915, 2561, 3425, 4580, 6125,
     8192]

    """
    size = check_int(size, 'size', minimum=1)
    nbins = check_int(nbins, 'nbins', minimum=2)
    if size > 1 and nbins - 1 > 2 * size * math.log2(size):
        # steps finer than the gap between any two integers up to size:
        # every integer is an edge (and nbins may be huge)
        return numpy.arange(1, size + 1, dtype=numpy.intp)
    edges = 2.0 ** numpy.linspace(0.0, math.log2(size), nbins)
    # 2**log2(size) may round below size (e.g. 2.9999 for 3)
    edges[-1] = size
    return numpy.unique(edges.astype(numpy.intp))


def bin_delays(edges: ArrayLike, /) -> NDArray[numpy.float64]:
    """Return the mean delay of each bin, in frames.

    Examples
    --------
    >>> bin_delays([1, 2, 4]).tolist()
    [0.0, 1.0, 2.5]

    """
    edges = numpy.asarray(edges, dtype=numpy.intp)
    lower = numpy.concatenate(([0], edges[:-1]))
    return (lower + edges - 1) / 2.0


def average_bins(
    curves: ArrayLike, edges: ArrayLike, /
) -> NDArray[numpy.float64]:
    """Return the arithmetic mean of curves within each delay bin.

    Parameters
    ----------
    curves : array_like, shape (..., ndelays)
        Curves over delays ``0, 1, ...``; at least ``edges[-1]`` delays.
    edges : array_like of int
        Exclusive upper bin edges from :func:`logbins`.

    Returns
    -------
    ndarray, shape (..., len(edges)), dtype float64

    Examples
    --------
    >>> average_bins([1.0, 2.0, 4.0, 6.0], [1, 2, 4]).tolist()
    [1.0, 2.0, 5.0]

    """
    curves = numpy.asarray(curves, dtype=numpy.float64)
    edges = numpy.asarray(edges, dtype=numpy.intp)
    if curves.shape[-1] < edges[-1]:
        msg = (
            f'curves have {curves.shape[-1]} delays, '
            f'fewer than the last bin edge {edges[-1]}'
        )
        raise ValueError(msg)
    lower = numpy.concatenate(([0], edges[:-1]))
    sums = numpy.add.reduceat(curves[..., : edges[-1]], lower, axis=-1)
    return sums / (edges - lower)


def smooth(binned: ArrayLike, /, *, out: NDArray | None = None) -> NDArray:
    """Return curves smoothed forward and backward along the last axis.

    Parameters
    ----------
    binned : array_like, shape (..., nbins)
        Bin-averaged curves, at least 2 bins.
    out : ndarray, optional
        Output array of the same shape; may be `binned` itself.

    Returns
    -------
    ndarray

    Notes
    -----
    ``s[0] = s[1]``; then ``s[k] = 0.3 * s[k] + 0.7 * s[k-1]`` for
    ``k = 1 .. n-1``; then ``s[k] = 0.3 * s[k] + 0.7 * s[k+1]`` for
    ``k = n-2 .. 0``.

    Examples
    --------
    >>> smooth([0.0, 1.0, 1.0]).tolist()
    [1.0, 1.0, 1.0]

    """
    s = numpy.asarray(binned)
    if s.dtype.kind != 'f':
        s = s.astype(numpy.float64)
    if out is None:
        out = s.copy()
    elif out is not s:
        out[...] = s
    n = out.shape[-1]
    if n < 2:
        msg = f'smoothing needs at least 2 bins, got {n}'
        raise ValueError(msg)
    w = SMOOTH_WEIGHT
    out[..., 0] = out[..., 1]
    for k in range(1, n):
        out[..., k] *= w
        out[..., k] += (1.0 - w) * out[..., k - 1]
    for k in range(n - 2, -1, -1):
        out[..., k] *= w
        out[..., k] += (1.0 - w) * out[..., k + 1]
    return out


def smoothing_matrix(nbins: int, /) -> NDArray[numpy.float64]:
    """Return S with ``binned @ S == smooth(binned)`` (smoothing is linear).

    Row 0 is zero: smoothing replaces the first bin by the second.

    >>> s = smoothing_matrix(3)
    >>> bool(numpy.allclose([0.0, 1.0, 1.0] @ s, smooth([0.0, 1.0, 1.0])))
    True

    """
    return smooth(numpy.eye(check_int(nbins, 'nbins', minimum=2)))
