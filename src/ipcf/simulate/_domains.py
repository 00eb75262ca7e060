"""Where particles may be: fields, cells, channel walls and barriers.

A domain is in pixel units and has three methods: ``area`` (square
pixels; ``volume`` in voxels for a volume domain), ``sample(count,
rng)`` (uniform positions) and ``walk(positions, steps)`` (positions
after each step, with its boundaries applied). :class:`Periodic` wraps
around, in 2 or 3 dimensions; :class:`CellChannel`, :class:`CellTube`
and :class:`Barrier` reflect by rejection: a step that would end in
another compartment is not taken. The builders (:func:`periodic_field`,
:func:`cell_channel`, :func:`cell_tube`, :func:`barrier_field`) return a
domain with its description for the ground truth, in µm and pixels.
Volume positions are ``(x, y, z)`` in voxels: x and y in pixels, z in
planes. :func:`cell_outline`
draws the light-sheet cell of :func:`ipcf.simulate.spim`, whose
particles are cut at the outline instead.

"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy

from ._parameters import Parameters

__all__ = [
    'COORDINATES',
    'MODES',
    'RIM',
    'Barrier',
    'CellChannel',
    'CellTube',
    'Outline',
    'Periodic',
    'barrier_field',
    'cell_channel',
    'cell_outline',
    'cell_tube',
    'periodic_field',
]

COORDINATES = (
    'x is the column, y the row, from the top-left corner of pixel [0, 0]'
)

COORDINATES_VOLUME = (
    'x is the column, y the row, z the plane, from the top-left corner of '
    'voxel [0, 0, 0]; plane k images z = (k + 0.5) * pixel_size_z'
)

_REFLECTING = 'reflecting: steps crossing a wall are rejected'

# rim of the light-sheet cell, in pixels, that carries the membrane signal
RIM = 3
# the light-sheet cell's outline: radius modulated by 1 + a cos(k theta + p)
MODES = ((3, 0.06), (5, 0.04))


class Periodic:
    """Rectangle (or box) with periodic boundaries, in pixel units.

    `lower` and `upper` have 2 items ``(x, y)``, or 3 ``(x, y, z)`` for a
    box in voxels.

    """

    def __init__(
        self, lower: tuple[float, ...], upper: tuple[float, ...]
    ) -> None:
        self.lower = tuple(float(v) for v in lower)
        self.upper = tuple(float(v) for v in upper)
        self._lower = numpy.array(self.lower)
        self._size = numpy.array(self.upper) - self._lower

    @property
    def area(self) -> float:
        """Area in square pixels."""
        return float(self._size[0] * self._size[1])

    @property
    def volume(self) -> float:
        """Volume of a box in voxels."""
        return float(numpy.prod(self._size))

    def sample(self, count: int, rng: numpy.random.Generator) -> numpy.ndarray:
        """Return count uniformly placed positions, shape (count, ndim)."""
        return self._lower + rng.random((count, len(self.lower))) * self._size

    def walk(
        self, positions: numpy.ndarray, steps: numpy.ndarray
    ) -> numpy.ndarray:
        """Return positions after each of steps (frames, n, ndim)."""
        track = numpy.cumsum(steps, axis=0)
        track += positions - self._lower
        numpy.mod(track, self._size, out=track)
        track += self._lower
        return track


class CellChannel:
    """Ellipse crossed by a strip through its centre, in pixel units.

    ``label`` numbers the compartments: 0 outside the cell, 1 and 3 the
    two sides of the channel, 2 the channel. ``walk`` rejects every step
    that would change a particle's label.

    """

    def __init__(
        self,
        *,
        centre: tuple[float, float],
        semi_axes: tuple[float, float],
        angle: float,
        width: float,
    ) -> None:
        self.centre = (float(centre[0]), float(centre[1]))
        self.semi_axes = (float(semi_axes[0]), float(semi_axes[1]))
        self.angle = float(angle)
        self.width = float(width)

    @property
    def area(self) -> float:
        """Area of the cell in square pixels."""
        return math.pi * self.semi_axes[0] * self.semi_axes[1]

    def label(self, positions: numpy.ndarray) -> numpy.ndarray:
        """Return the compartment of each position (..., 2) as int8."""
        x = positions[..., 0] - self.centre[0]
        y = positions[..., 1] - self.centre[1]
        a, b = self.semi_axes
        inside = (x / a) ** 2 + (y / b) ** 2 < 1.0
        # signed distance from the channel's centre line
        across = y * math.cos(self.angle) - x * math.sin(self.angle)
        half = self.width / 2
        label = (across >= -half).astype(numpy.int8)
        label += across > half
        label += 1
        label *= inside
        return label

    def sample(self, count: int, rng: numpy.random.Generator) -> numpy.ndarray:
        """Return count positions uniform in the cell, shape (count, 2)."""
        a, b = self.semi_axes
        result = numpy.empty((count, 2))
        done = 0
        while done < count:
            # the ellipse fills pi/4 of its bounding box
            trial = rng.uniform(-1.0, 1.0, (2 * (count - done) + 8, 2))
            trial = trial[(trial**2).sum(axis=1) < 1.0][: count - done]
            result[done : done + len(trial)] = trial
            done += len(trial)
        result *= (a, b)
        result += self.centre
        return result

    def walk(
        self, positions: numpy.ndarray, steps: numpy.ndarray
    ) -> numpy.ndarray:
        """Return positions after each of steps (frames, n, 2)."""
        track = numpy.empty_like(steps)
        current = positions.copy()
        label = self.label(current)
        for frame, step in enumerate(steps):
            proposal = current + step
            accept = self.label(proposal) == label
            numpy.copyto(current, proposal, where=accept[:, None])
            track[frame] = current
        return track


class CellTube:
    """Ellipsoid crossed by a cylindrical tube, in voxel units.

    The tube's axis lies in the plane ``z = centre[2]``, through the
    centre, at `angle` (radians) from x toward y; `radius` and the
    semi-axes are in lateral pixels, and a plane is `depth` pixels
    thick (``pixel_size_z / pixel_size``), so that distances are
    computed in physical proportion. ``label`` numbers the
    compartments: 0 outside the cell, 1 the cell outside the tube, 2 the
    tube. ``walk`` rejects every step that would change a particle's
    label or pass through the tube.

    """

    def __init__(
        self,
        *,
        centre: tuple[float, float, float],
        semi_axes: tuple[float, float, float],
        angle: float,
        radius: float,
        depth: float,
    ) -> None:
        self.centre = tuple(float(v) for v in centre)
        self.semi_axes = tuple(float(v) for v in semi_axes)
        self.angle = float(angle)
        self.radius = float(radius)
        self.depth = float(depth)
        self._axis = numpy.array([math.cos(angle), math.sin(angle), 0.0])

    @property
    def volume(self) -> float:
        """Volume of the cell in voxels."""
        a, b, c = self.semi_axes
        return 4.0 / 3.0 * math.pi * a * b * c / self.depth

    def _relative(self, positions: numpy.ndarray) -> numpy.ndarray:
        """Return positions less the centre, z in lateral pixels."""
        offset = positions - self.centre
        offset[..., 2] *= self.depth
        return offset

    def _across(self, offset: numpy.ndarray) -> numpy.ndarray:
        """Return the components of offsets across the tube's axis."""
        along = offset @ self._axis
        return offset - along[..., None] * self._axis

    def label(self, positions: numpy.ndarray) -> numpy.ndarray:
        """Return the compartment of each position (..., 3) as int8."""
        offset = self._relative(positions)
        scaled = offset / numpy.asarray(self.semi_axes)
        inside = (scaled * scaled).sum(axis=-1) < 1.0
        across = self._across(offset)
        tube = (across * across).sum(axis=-1) < self.radius**2
        label = tube.astype(numpy.int8)
        label += 1
        label *= inside
        return label

    def sample(self, count: int, rng: numpy.random.Generator) -> numpy.ndarray:
        """Return count positions uniform in the cell, shape (count, 3)."""
        result = numpy.empty((count, 3))
        done = 0
        while done < count:
            # the ellipsoid fills pi/6 of its bounding box
            trial = rng.uniform(-1.0, 1.0, (2 * (count - done) + 8, 3))
            trial = trial[(trial**2).sum(axis=1) < 1.0][: count - done]
            result[done : done + len(trial)] = trial
            done += len(trial)
        result *= self.semi_axes
        result[:, 2] /= self.depth
        result += self.centre
        return result

    def through_tube(
        self, start: numpy.ndarray, end: numpy.ndarray
    ) -> numpy.ndarray:
        """Return whether straight paths start -> end pass inside the tube."""
        # across the axis the tube is a disc: a 2-D closest approach
        first = self._across(self._relative(start))
        step = self._across(self._relative(end)) - first
        length2 = numpy.maximum((step * step).sum(axis=-1), 1e-300)
        t = numpy.clip(-(first * step).sum(axis=-1) / length2, 0.0, 1.0)
        closest = first + t[:, None] * step
        return (closest * closest).sum(axis=-1) < self.radius**2

    def walk(
        self, positions: numpy.ndarray, steps: numpy.ndarray
    ) -> numpy.ndarray:
        """Return positions after each of steps (frames, n, 3)."""
        track = numpy.empty_like(steps)
        current = positions.copy()
        label = self.label(current)
        outside = label == 1
        for frame, step in enumerate(steps):
            proposal = current + step
            accept = self.label(proposal) == label
            # the cell outside the tube is not convex
            accept &= ~(outside & self.through_tube(current, proposal))
            numpy.copyto(current, proposal, where=accept[:, None])
            track[frame] = current
        return track


class Barrier:
    """Rectangle with reflecting sides cut by a wall, in pixel units.

    ``label`` numbers the regions: 0 outside the rectangle, 1 and 2 the
    two sides of a line (1 where the signed distance across the line is
    negative), or the inside (1) and outside (2) of a ring. ``walk``
    rejects every step that would change a particle's label or pass
    through the ring.

    """

    def __init__(
        self,
        lower: tuple[float, float],
        upper: tuple[float, float],
        *,
        wall: str,
        centre: tuple[float, float],
        angle: float = 0.0,
        radius: float = 0.0,
    ) -> None:
        self.lower = tuple(float(v) for v in lower)
        self.upper = tuple(float(v) for v in upper)
        self.wall = wall
        self.centre = (float(centre[0]), float(centre[1]))
        self.angle = float(angle)
        self.radius = float(radius)

    @property
    def area(self) -> float:
        """Area of the rectangle in square pixels."""
        return (self.upper[0] - self.lower[0]) * (
            self.upper[1] - self.lower[1]
        )

    def label(self, positions: numpy.ndarray) -> numpy.ndarray:
        """Return the region of each position (..., 2) as int8."""
        x = positions[..., 0]
        y = positions[..., 1]
        inside = (
            (x >= self.lower[0])
            & (x < self.upper[0])
            & (y >= self.lower[1])
            & (y < self.upper[1])
        )
        x = x - self.centre[0]
        y = y - self.centre[1]
        if self.wall == 'line':
            across = y * math.cos(self.angle) - x * math.sin(self.angle)
            label = (across >= 0.0).astype(numpy.int8)
        else:
            label = (x * x + y * y >= self.radius**2).astype(numpy.int8)
        label += 1
        label *= inside
        return label

    def sample(self, count: int, rng: numpy.random.Generator) -> numpy.ndarray:
        """Return count uniformly placed positions, shape (count, 2)."""
        lower = numpy.array(self.lower)
        size = numpy.array(self.upper) - lower
        return lower + rng.random((count, 2)) * size

    def through_ring(
        self, start: numpy.ndarray, end: numpy.ndarray
    ) -> numpy.ndarray:
        """Return whether straight paths start -> end pass inside the ring."""
        step = end - start
        to_centre = numpy.asarray(self.centre) - start
        length2 = numpy.maximum((step * step).sum(axis=-1), 1e-300)
        t = numpy.clip((to_centre * step).sum(axis=-1) / length2, 0.0, 1.0)
        closest = start + t[:, None] * step - self.centre
        return (closest * closest).sum(axis=-1) < self.radius**2

    def walk(
        self, positions: numpy.ndarray, steps: numpy.ndarray
    ) -> numpy.ndarray:
        """Return positions after each of steps (frames, n, 2)."""
        track = numpy.empty_like(steps)
        current = positions.copy()
        label = self.label(current)
        outside = label == 2
        for frame, step in enumerate(steps):
            proposal = current + step
            accept = self.label(proposal) == label
            if self.wall == 'ring':
                # the outside of a ring is not convex
                accept &= ~(outside & self.through_ring(current, proposal))
            numpy.copyto(current, proposal, where=accept[:, None])
            track[frame] = current
        return track


def periodic_field(params: Parameters, /) -> tuple[Periodic, dict]:
    """Return the periodic domain of free and flow, and its geometry.

    The domain is larger than the field of view by the PSF window on
    every side.

    """
    if params.volume:
        return _periodic_box(params)
    _, height, width = params.shape
    margin = params.half + 1
    domain = Periodic((-margin, -margin), (width + margin, height + margin))
    px = params.pixel_size
    geometry = {
        'coordinates': COORDINATES,
        'boundary': 'periodic',
        'domain': [float(v * px) for v in (*domain.lower, *domain.upper)],
        'domain_px': [float(v) for v in (*domain.lower, *domain.upper)],
    }
    return domain, geometry


def _periodic_box(params: Parameters, /) -> tuple[Periodic, dict]:
    """Return the periodic box of a free volume, and its geometry.

    The box is larger than the volume by the PSF window on every side,
    along z too, so no spot wraps into view.

    """
    _, depth, height, width = params.shape
    margin = params.half + 1
    margin_z = params.half_z + 1
    domain = Periodic(
        (-margin, -margin, -margin_z),
        (width + margin, height + margin, depth + margin_z),
    )
    px, pz = params.pixel_size, params.pixel_size_z
    scale = (px, px, pz)
    corners = (*domain.lower, *domain.upper)
    geometry = {
        'coordinates': COORDINATES_VOLUME,
        'boundary': 'periodic along x, y and z',
        'domain': [
            float(v * s) for v, s in zip(corners, scale * 2, strict=True)
        ],
        'domain_px': [float(v) for v in (*domain.lower, *domain.upper)],
    }
    return domain, geometry


def cell_channel(
    params: Parameters,
    /,
    *,
    semi_axes: tuple[float, float],
    width: float,
    angle: float,
) -> tuple[CellChannel, dict]:
    """Return the cell and channel centred in the field, and its geometry.

    `semi_axes` and `width` are in µm, `angle` in degrees.

    """
    _, height, size = params.shape
    px = params.pixel_size
    centre = (size * px / 2, height * px / 2)
    domain = CellChannel(
        centre=(centre[0] / px, centre[1] / px),
        semi_axes=(semi_axes[0] / px, semi_axes[1] / px),
        angle=math.radians(angle),
        width=width / px,
    )
    geometry = {
        'coordinates': COORDINATES,
        'boundary': _REFLECTING,
        'cell': {
            'shape': 'ellipse',
            'centre': list(centre),
            'semi_axes': list(semi_axes),
            'centre_px': list(domain.centre),
            'semi_axes_px': list(domain.semi_axes),
        },
        'channel': {
            'width': width,
            'angle': angle,
            'centre': list(centre),
            'width_px': domain.width,
            'centre_px': list(domain.centre),
        },
    }
    return domain, geometry


def cell_tube(
    params: Parameters,
    /,
    *,
    semi_axes: tuple[float, float, float],
    width: float,
    angle: float,
) -> tuple[CellTube, dict]:
    """Return the cell and tube centred in the volume, and its geometry.

    `semi_axes` (x, y, z) and `width` (the tube's diameter) are in µm,
    `angle` in degrees.

    """
    _, depth, height, size = params.shape
    px, pz = params.pixel_size, params.pixel_size_z
    centre = (size * px / 2, height * px / 2, depth * pz / 2)
    domain = CellTube(
        centre=(centre[0] / px, centre[1] / px, centre[2] / pz),
        semi_axes=tuple(value / px for value in semi_axes),
        angle=math.radians(angle),
        radius=width / px / 2,
        depth=pz / px,
    )
    semi_px = [semi_axes[0] / px, semi_axes[1] / px, semi_axes[2] / pz]
    geometry = {
        'coordinates': COORDINATES_VOLUME,
        'boundary': _REFLECTING,
        'cell': {
            'shape': 'ellipsoid',
            'centre': list(centre),
            'semi_axes': list(semi_axes),
            'centre_px': list(domain.centre),
            'semi_axes_px': semi_px,
        },
        'channel': {
            'shape': 'tube',
            'width': width,
            'angle': angle,
            'centre': list(centre),
            'width_px': 2 * domain.radius,
            'centre_px': list(domain.centre),
        },
    }
    return domain, geometry


def barrier_field(
    params: Parameters,
    /,
    *,
    wall: str,
    centre: tuple[float, float],
    angle: float,
    radius: float,
) -> tuple[Barrier, dict]:
    """Return the field cut by a line or ring wall, and its geometry.

    The rectangle is larger than the field of view by the PSF window on
    every side. `centre` and `radius` are in µm, `angle` in degrees.

    """
    _, height, width = params.shape
    px = params.pixel_size
    margin = params.half + 1
    domain = Barrier(
        (-margin, -margin),
        (width + margin, height + margin),
        wall=wall,
        centre=(centre[0] / px, centre[1] / px),
        angle=math.radians(angle),
        radius=radius / px,
    )
    spec: dict[str, Any] = {
        'shape': wall,
        'centre': list(centre),
        'centre_px': list(domain.centre),
    }
    if wall == 'line':
        spec['angle'] = angle
    else:
        spec['radius'] = radius
        spec['radius_px'] = domain.radius
    geometry = {
        'coordinates': COORDINATES,
        'boundary': _REFLECTING,
        'domain': [float(v * px) for v in (*domain.lower, *domain.upper)],
        'domain_px': [float(v) for v in (*domain.lower, *domain.upper)],
        'wall': spec,
    }
    return domain, geometry


@dataclasses.dataclass(frozen=True, eq=False)
class Outline:
    """Pixels of a cell in a frame, its rim, and its description."""

    inside: numpy.ndarray
    """Bool (H, W): pixels whose centre is in the cell."""
    rim: numpy.ndarray
    """Flat indices of the pixels within :data:`RIM` of the outline."""
    geometry: dict[str, Any]
    """The cell in µm and pixels, JSON-serializable."""


def cell_outline(
    height: int,
    width: int,
    /,
    *,
    semi_axes: tuple[float, float],
    pixel_size: float,
    rng: numpy.random.Generator,
) -> Outline:
    """Return a cell centred in the frame, an ellipse with a wavy outline.

    The radius of the ellipse of `semi_axes` (pixels) is modulated by
    ``1 + sum(a * cos(k * theta + phase))`` over :data:`MODES`, with
    phases drawn from rng.

    """
    from scipy import ndimage

    centre = (width / 2.0, height / 2.0)
    phases = rng.uniform(0.0, 2.0 * math.pi, len(MODES))
    ys, xs = numpy.mgrid[0:height, 0:width] + 0.5
    dx = (xs - centre[0]) / semi_axes[0]
    dy = (ys - centre[1]) / semi_axes[1]
    theta = numpy.arctan2(dy, dx)
    radius = numpy.ones_like(theta)
    for (mode, amplitude), phase in zip(MODES, phases, strict=True):
        radius += amplitude * numpy.cos(mode * theta + phase)
    inside = numpy.hypot(dx, dy) < radius
    del ys, xs, dx, dy, theta, radius
    rim = inside & ~ndimage.binary_erosion(inside, iterations=RIM)
    bbox = None
    if inside.any():
        rows = numpy.flatnonzero(inside.any(axis=1))
        cols = numpy.flatnonzero(inside.any(axis=0))
        bbox = [
            int(rows[0]),
            int(rows[-1]) + 1,
            int(cols[0]),
            int(cols[-1]) + 1,
        ]
    geometry = {
        'shape': (
            'ellipse whose radius is modulated by '
            '1 + sum(a * cos(k * theta + phase))'
        ),
        'centre': [c * pixel_size for c in centre],
        'semi_axes': [s * pixel_size for s in semi_axes],
        'centre_px': list(centre),
        'semi_axes_px': list(semi_axes),
        'modulation': [
            {'k': k, 'a': a, 'phase': float(p)}
            for (k, a), p in zip(MODES, phases, strict=True)
        ],
        'bbox_px': bbox,
        'area_px': int(inside.sum()),
        'rim_px': RIM,
    }
    return Outline(
        inside=inside, rim=numpy.flatnonzero(rim), geometry=geometry
    )
