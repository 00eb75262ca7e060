"""Volume plans computed as image plans by any engine.

Two routes turn a volume plan (offsets ``(u, v, w)``, halo
``(hz, hy, hx)``) into image plans that any engine's image ``compute``
fills; the engine picks one by what its buffers hold (:func:`route`).

Stacked planes (:func:`compute_stacked`): planes ``z0 .. z1`` as the
rows of one image, row ``(z - z0) * H + y``, so that the offset
``(u, v, w)`` is the image offset ``(u, v + w * H)`` and the halo
``(hz * H + hy, hx)``. Centres whose circle would cross a plane's edge
are masked out. Every voxel is transformed once per chunk of planes
(the chunk's ``2 hz`` halo planes again), and within one channel every
pair of voxels serves both of its curves, as in the image pCF. The
engine must hold ``2 hz + 1`` planes of spectra (cpu: in strips of
columns).

Pairs of planes (:func:`compute_planes`): each pair of a plane ``z`` and
a plane ``z + d`` is an image plan of two channels with the lateral
offsets of the points that join them. Within one channel the plan of
planes ``z`` and ``z + d``, ``d > 0``, gives the points with ``w = d``
of centres in plane ``z`` (forward curves) and those with ``w = -d`` of
centres in plane ``z + d`` (reverse curves), each pair of pixels once for
both; points with ``w = 0`` are the image plan of plane ``z`` alone.
Each plane is transformed once per plan it belongs to, ``1 + 2 * hz``
times for a sphere reaching ``hz`` planes, but only two planes of
spectra are held at a time. Across channels every ``d`` among the
points (and their negatives, for the reverse direction) is a pair of
planes ``z`` of channel 0 and ``z + d`` of channel 1.

"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy

from ..plan import Plan

__all__ = [
    'compute_planes',
    'compute_stacked',
    'plane_jobs',
    'plane_transforms',
    'stacked_plan',
]

_CHUNK_BYTES = 256 * 2**20
"""Bytes of image results of stacked planes held before they are copied."""


@dataclasses.dataclass(frozen=True)
class _Part:
    """Curves of an image plan that go to a volume result.

    Direction `direction`, points `points` of the image plan go to
    direction `target`, points `targets` of centres in plane
    ``z + shift`` of the volume, for the image plan's first plane ``z``.

    """

    direction: int
    points: numpy.ndarray
    target: int
    targets: numpy.ndarray
    shift: int


@dataclasses.dataclass(frozen=True)
class _Job:
    """An image plan of plane z of a channel and plane z + d of another."""

    d: int
    channels: tuple[int, ...]
    plan: Plan
    parts: tuple[_Part, ...]

    def curves(self, active: list[bool]) -> Plan:
        """Return the plan wanting only the curves of active parts."""
        if all(active):
            return self.plan
        curves = numpy.zeros((self.plan.ndirections, self.plan.npoints), bool)
        for part, on in zip(self.parts, active, strict=True):
            if on:
                curves[part.direction, part.points] = True
        return dataclasses.replace(self.plan, curves=curves)


def plane_jobs(plan: Plan) -> list[_Job]:
    """Return the image plans that make up a volume plan.

    >>> plan = Plan.volume(radius=2, npoints=8, nframes=64, nbins=8)
    >>> [(job.d, job.channels, job.plan.npoints) for job in plane_jobs(plan)]
    [(0, (0,), 2), (1, (0, 0), 4), (2, (0, 0), 2)]

    """
    offsets = numpy.asarray(plan.offsets)
    axial = offsets[:, 2]
    lateral = offsets[:, :2]
    base = dataclasses.replace(
        plan, offsets=lateral, halo=tuple(plan.halo[1:]), curves=None
    )
    jobs = []
    if not plan.cross:
        same = numpy.flatnonzero(axial == 0)
        if same.size:
            image = dataclasses.replace(base, offsets=lateral[same])
            part = _Part(0, numpy.arange(same.size), 0, same, 0)
            jobs.append(_Job(0, (0,), image, (part,)))
        for d in sorted({int(abs(w)) for w in axial} - {0}):
            up = numpy.flatnonzero(axial == d)
            down = numpy.flatnonzero(axial == -d)
            jobs.append(_pair_job(base, d, (0, 0), up, down, 0))
        return jobs
    wanted = set(axial.tolist())
    if plan.reverse:
        wanted |= set((-axial).tolist())
    empty = numpy.zeros(0, numpy.intp)
    for d in sorted(wanted):
        forward = numpy.flatnonzero(axial == d)
        backward = numpy.flatnonzero(axial == -d) if plan.reverse else empty
        jobs.append(_pair_job(base, d, (0, 1), forward, backward, 1))
    return jobs


def _pair_job(
    base: Plan,
    d: int,
    channels: tuple[int, int],
    forward: numpy.ndarray,
    backward: numpy.ndarray,
    reverse_target: int,
) -> _Job:
    """Return the job of planes z and z + d of two channels.

    Its forward curves are the volume points `forward` (``w = d``) of
    centres in plane z; its reverse curves, centres in plane z + d toward
    plane z, are the points `backward` (``w = -d``), in direction
    `reverse_target` of the volume result.

    """
    lateral = numpy.asarray(base.offsets)
    nf, nb = forward.size, backward.size
    offsets = numpy.concatenate([lateral[forward], lateral[backward]])
    reverse = nb > 0
    curves = numpy.zeros((1 + reverse, nf + nb), bool)
    curves[0, :nf] = True
    parts = []
    if nf:
        parts.append(_Part(0, numpy.arange(nf), 0, forward, 0))
    if nb:
        curves[1, nf:] = True
        part = _Part(1, numpy.arange(nf, nf + nb), reverse_target, backward, d)
        parts.append(part)
    image = dataclasses.replace(
        base, offsets=offsets, cross=True, reverse=reverse, curves=curves
    )
    return _Job(d, channels, image, tuple(parts))


def compute_planes(
    image_compute: Callable[..., None],
    plan: Plan,
    reader: Any,
    out: numpy.ndarray,
    *,
    mask: numpy.ndarray | None = None,
    num_threads: int = 1,
    progress: Any = None,
) -> None:
    """Fill out[direction, z, y, x, point, bin] with an image engine.

    `image_compute` is an engine's ``compute`` of image plans (see
    :mod:`ipcf.engines`); `reader` serves the volume series
    ``(N, Z, H, W)`` and `mask` marks centres of the result grid
    ``(z, y, x)``, or is None.

    """
    _, depth, height, width = reader.shape
    hz = plan.halo[0]
    ndir, nz, ny, nx = out.shape[:4]
    calls = []
    for job in plane_jobs(plan):
        for z in range(max(0, -job.d), min(depth, depth - job.d)):
            active = [hz <= z + p.shift < hz + nz for p in job.parts]
            if any(active):
                calls.append((job, z, active))
    total = ndir * nz * ny * nx
    shares = numpy.diff(numpy.linspace(0, total, len(calls) + 1).astype(int))
    buffers: dict[int, numpy.ndarray] = {}
    for (job, z, active), share in zip(calls, shares, strict=True):
        centres = None
        if mask is not None:
            centres = numpy.zeros((ny, nx), bool)
            for part, on in zip(job.parts, active, strict=True):
                if on:
                    centres |= mask[z + part.shift - hz]
        if centres is None or centres.any():
            image = job.curves(active)
            key = id(job)
            values = buffers.get(key)
            if values is None:
                values = numpy.empty(
                    image.out_shape((height, width)), out.dtype
                )
                buffers[key] = values
            values.fill(numpy.nan)
            selection = [
                (c, z + job.d * k) for k, c in enumerate(job.channels)
            ]
            image_compute(
                image,
                reader.planes(selection),
                values,
                mask=centres,
                num_threads=num_threads,
                progress=None,
            )
            for part, on in zip(job.parts, active, strict=True):
                if on:
                    target = out[part.target, z + part.shift - hz]
                    target[:, :, part.targets] = values[part.direction][
                        :, :, part.points
                    ]
        if progress is not None and share:
            progress(int(share))


def plane_transforms(plan: Plan) -> int:
    """Return how often :func:`compute_planes` transforms each plane.

    >>> plane_transforms(Plan.volume(radius=2, npoints=8, nframes=64,
    ...                              nbins=8))
    5

    """
    return sum(len(job.channels) for job in plane_jobs(plan))


def stacked_plan(plan: Plan, height: int) -> Plan:
    """Return the image plan of planes stacked as rows of `height`.

    >>> plan = Plan.volume(radius=1, npoints=8, nframes=64, nbins=8)
    >>> plan.offsets[:2].tolist()
    [[0, 0, 1], [-1, 1, 1]]
    >>> image = stacked_plan(plan, 10)
    >>> image.offsets[:2].tolist(), image.halo
    ([[0, 10], [-1, 11]], (11, 1))

    """
    offsets = numpy.asarray(plan.offsets)
    hz, hy, hx = plan.halo
    lateral = numpy.stack(
        [offsets[:, 0], offsets[:, 1] + offsets[:, 2] * height], axis=1
    )
    return dataclasses.replace(
        plan, offsets=lateral, halo=(hz * height + hy, hx)
    )


def stacked_chunk(plan: Plan, out_shape: tuple[int, ...], height: int) -> int:
    """Return the output planes :func:`compute_stacked` does at a time.

    Enough that the ``2 hz`` halo planes add at most half again, more if
    their results fit in 256 MB.

    """
    ndir, nz, _, nx, npoints, nbins = out_shape
    plane = ndir * height * nx * npoints * nbins * 4
    hz = plan.halo[0]
    return max(1, min(nz, max(4 * hz, _CHUNK_BYTES // max(1, plane))))


def compute_stacked(
    image_compute: Callable[..., None],
    plan: Plan,
    reader: Any,
    out: numpy.ndarray,
    *,
    mask: numpy.ndarray | None = None,
    num_threads: int = 1,
    progress: Any = None,
    chunk: int | None = None,
) -> None:
    """Fill out[direction, z, y, x, point, bin] as images of planes.

    As :func:`compute_planes`; `chunk` output planes at a time (default
    :func:`stacked_chunk`).

    """
    _, depth, height, width = reader.shape
    hz, hy, hx = plan.halo
    ndir, nz, ny, nx, npoints, nbins = out.shape
    image = stacked_plan(plan, height)
    if chunk is None:
        chunk = stacked_chunk(plan, out.shape, height)
    for z0 in range(0, nz, chunk):
        z1 = min(nz, z0 + chunk)
        count = z1 - z0
        # result rows (z - z0) * height + y; rows y >= ny cross an edge
        rows = count * height - 2 * hy
        centres = numpy.zeros((count, height, nx), bool)
        centres[:, :ny] = True if mask is None else mask[z0:z1]
        centres = centres.reshape(count * height, nx)[:rows]
        if centres.any():
            values = numpy.full(
                (ndir, rows, nx, npoints, nbins), numpy.nan, out.dtype
            )
            image_compute(
                image,
                reader.stacked(z0, z1 + 2 * hz),
                values,
                mask=centres,
                num_threads=num_threads,
                progress=None,
            )
            for k in range(count):
                out[:, z0 + k] = values[:, k * height : k * height + ny]
        if progress is not None:
            progress(ndir * count * ny * nx)
