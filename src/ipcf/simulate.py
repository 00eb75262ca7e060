"""Simulate fluorescence image series of diffusing particles.

Each function returns a :class:`Simulation`: the camera counts as an array
``(T, H, W)`` and the ground truth as a JSON-serializable dict, ready for
:meth:`Simulation.save`.

- :func:`free`: free diffusion, uniform density, no edges.
- :func:`channel`: diffusion in a cell crossed by a channel whose walls
  block diffusion, the stand-in for the tutorial's
  ``Simulation_Channel.bin``.
- :func:`flow`: free diffusion plus a uniform drift velocity.
- :func:`barrier`: free diffusion cut by an impermeable wall, a straight
  line or a ring (e.g. a nucleus).
- :func:`spim`: a light-sheet series of a bleaching cell, larger than
  memory, written as one TIFF file per frame (it returns the directory,
  not a :class:`Simulation`).

:func:`free`, :func:`flow`, :func:`barrier` and :func:`channel` take one
diffusion coefficient or several, one per population, with the fraction
of particles in each: ``free(diffusion=(0.5, 4.0), fraction=0.3)``
simulates 30 % slow and 70 % fast particles of the same brightness.

The model (the same for every function):

- Particles take independent Brownian steps, Gaussian with standard
  deviation ``sqrt(2 * diffusion * frame_time)`` per axis and frame,
  plus ``velocity * frame_time`` in :func:`flow`.
  Each frame shows the particles at one instant (no motion blur).
- A particle adds ``brightness`` photons per frame on average, spread
  over the pixels by a Gaussian point spread function of 1/e² radius
  ``psf_radius``, ``2 / (pi w²) exp(-2 r² / w²)``, integrated over each
  pixel (a product of erf differences in x and y). The spot is truncated
  to a square window of ``ceil(2 w) + 1`` pixels on each side of the
  pixel holding its centre, which loses less than 1e-4 of its photons.
- ``background`` photons per pixel and frame are added, the sum is drawn
  from a Poisson distribution, the camera ``offset`` is added, and the
  result is rounded and clipped to the range of ``dtype``.

Coordinates: ``x`` is the column, ``y`` the row, in µm from the top-left
corner of pixel ``[0, 0]``; pixel ``[j, i]`` covers
``i <= x / pixel_size < i + 1`` and ``j <= y / pixel_size < j + 1``.

The same ``seed`` and arguments give the same data bit for bit.

"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
import pathlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy
from numpy.typing import DTypeLike

from ._utils import progress_bar
from ._validate import check_int, check_real

__all__ = ['Simulation', 'barrier', 'channel', 'flow', 'free', 'spim']

# frames rendered at once: float64 buffers of about 16 MiB
_CHUNK_PIXELS = 2**21
_CHUNK_FRAMES = 256

_UNITS = {
    'diffusion': 'um^2/s',
    'velocity': 'um/s',
    'pixel_size': 'um',
    'frame_time': 's',
    'psf_radius': 'um (1/e^2 radius)',
    'density': 'particles/um^2',
    'brightness': 'photons/particle/frame',
    'background': 'photons/pixel/frame',
    'offset': 'counts',
    'geometry': 'um; keys ending in _px: pixels; angles: degrees',
}

_COORDINATES = (
    'x is the column, y the row, from the top-left corner of pixel [0, 0]'
)


@dataclasses.dataclass(frozen=True, eq=False)
class Simulation:
    """Simulated image series and its ground truth.

    Parameters
    ----------
    data : ndarray, shape (T, H, W)
        Camera counts, of the ``dtype`` asked for (uint16 by default).
    truth : dict
        JSON-serializable parameters of the simulation: ``kind``,
        ``shape``, ``dtype``, ``diffusion`` (µm²/s), ``pixel_size`` (µm),
        ``frame_time`` (s), ``psf_radius`` (µm, 1/e² radius), ``density``
        (particles/µm²), ``brightness``, ``background``, ``offset``,
        ``seed`` (the seed used, also when None was given), ``particles``
        (number simulated), ``geometry`` (boundaries, in µm and pixels),
        ``units`` and ``package``.

    Examples
    --------
    >>> sim = free(shape=(4, 8, 8), seed=0)
    >>> sim
    Simulation(kind='free', shape=(4, 8, 8), dtype=uint16, seed=0)

    """

    data: numpy.ndarray
    truth: dict[str, Any]

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(kind={self.truth.get("kind")!r}, '
            f'shape={self.data.shape}, dtype={self.data.dtype}, '
            f'seed={self.truth.get("seed")})'
        )

    def save(self, path: Any, /, *, overwrite: bool = False) -> None:
        """Write the data with the truth as metadata.

        Parameters
        ----------
        path : str or os.PathLike
            Output file; the suffix picks the format (``.bin`` with a JSON
            sidecar, ``.tif``, ``.h5``, ``.zarr``); see
            :func:`ipcf.io.imwrite`.
        overwrite : bool, optional, default: False
            Replace an existing file instead of raising.

        """
        from .io import imwrite

        imwrite(path, self.data, metadata=self.truth, overwrite=overwrite)


def free(
    *,
    shape: Sequence[int] = (4096, 64, 64),
    diffusion: float | Sequence[float] = 4.0,
    fraction: float | Sequence[float] | None = None,
    pixel_size: float = 0.1,
    frame_time: float = 1e-3,
    psf_radius: float = 0.25,
    density: float = 5.0,
    brightness: float = 50.0,
    background: float = 2.0,
    offset: float = 100.0,
    seed: int | None = None,
    dtype: DTypeLike = 'uint16',
    progress: bool = False,
) -> Simulation:
    """Return an image series of particles diffusing freely.

    Particles move in a rectangle larger than the field of view by the
    PSF window on every side, with periodic boundaries, so the density is
    uniform and the field has no edges.

    Parameters
    ----------
    shape : tuple of 3 int, optional, default: (4096, 64, 64)
        Frames, height and width; each at least 1.
    diffusion : float or sequence of float, optional, default: 4.0
        Diffusion coefficient in µm²/s, > 0. Several values simulate as
        many populations of particles, of the same brightness, that
        differ only in their diffusion coefficient.
    fraction : float or sequence of float, optional
        Fraction of the particles in each population, >= 0, summing to 1;
        one number is the fraction of the first of two populations. None
        (default) gives every population the same share. Only with
        several `diffusion` values.
    pixel_size : float, optional, default: 0.1
        Pixel side in µm, > 0.
    frame_time : float, optional, default: 1e-3
        Time between frames in s, > 0.
    psf_radius : float, optional, default: 0.25
        1/e² radius of the Gaussian point spread function in µm, > 0.
    density : float, optional, default: 5.0
        Particles per µm², >= 0. The number of particles is the density
        times the simulated area, rounded.
    brightness : float, optional, default: 50.0
        Mean photons per particle and frame, >= 0.
    background : float, optional, default: 2.0
        Mean photons per pixel and frame, >= 0.
    offset : float, optional, default: 100.0
        Camera counts added to every pixel after the Poisson noise.
    seed : int, optional
        Seed of :func:`numpy.random.default_rng`, >= 0. None (default)
        picks one at random; ``truth['seed']`` records it either way.
    dtype : dtype_like, optional, default: 'uint16'
        Integer or floating-point type of the data. Integer data are
        rounded and clipped to the type's range.
    progress : bool, optional, default: False
        Show a progress bar.

    Returns
    -------
    Simulation
        ``data`` of shape ``shape`` and the ground ``truth``.

    Raises
    ------
    TypeError
        An argument has the wrong type, or ``dtype`` is not an integer or
        floating-point type.
    ValueError
        An argument is out of range.

    Notes
    -----
    The mean of the data is ``offset + background + density *
    pixel_size**2 * brightness`` (104.5 with the defaults) unless clipped.
    The autocorrelation of a pixel decays with
    ``(1 + 4 D tau / w²)**-1``, and the pair correlation at distance ``d``
    peaks near ``tau = (d² - w²) / (4 D)``. With several populations the
    correlation is the sum of theirs, each weighted by its fraction.
    Particles are split among populations by index, the first
    ``round(fraction[0] * particles)`` in the first, and so on;
    ``truth['populations']`` holds the counts.

    Examples
    --------
    >>> sim = free(shape=(8, 16, 16), seed=0)
    >>> sim.data.shape, sim.data.dtype
    ((8, 16, 16), dtype('uint16'))
    >>> sim.truth['kind'], sim.truth['diffusion']
    ('free', 4.0)
    >>> sim = free(shape=(8, 16, 16), diffusion=(0.5, 4.0), fraction=0.3)
    >>> sim.truth['diffusion'], sim.truth['fraction']
    ([0.5, 4.0], [0.3, 0.7])

    """
    params = _parameters(
        shape=shape,
        diffusion=diffusion,
        fraction=fraction,
        pixel_size=pixel_size,
        frame_time=frame_time,
        psf_radius=psf_radius,
        density=density,
        brightness=brightness,
        background=background,
        offset=offset,
        seed=seed,
        dtype=dtype,
    )
    domain, geometry = _periodic_field(params)
    return _simulate('free', params, domain, geometry, progress=progress)


def channel(
    *,
    shape: Sequence[int] = (32000, 64, 64),
    diffusion: float | Sequence[float] = 4.0,
    fraction: float | Sequence[float] | None = None,
    pixel_size: float = 0.1,
    frame_time: float = 1e-3,
    psf_radius: float = 0.25,
    density: float = 5.0,
    brightness: float = 50.0,
    background: float = 2.0,
    offset: float = 100.0,
    channel_width: float = 0.8,
    channel_angle: float = 0.0,
    cell: float | Sequence[float] | None = None,
    seed: int | None = None,
    dtype: DTypeLike = 'uint16',
    progress: bool = False,
) -> Simulation:
    """Return an image series of particles in a cell crossed by a channel.

    The cell is an ellipse centred in the field; particles never leave it.
    A straight channel, a strip through the cell's centre, divides the
    cell into three compartments: the channel and the two sides. Its
    walls block diffusion in both directions, so particles inside the
    channel stay inside and particles outside stay outside. Outside the
    cell there is background only.

    This is the stand-in for the tutorial's ``Simulation_Channel.bin``
    (64x64 pixels, 32,000 uint16 frames).

    Parameters
    ----------
    shape : tuple of 3 int, optional, default: (32000, 64, 64)
        Frames, height and width; each at least 1.
    diffusion, pixel_size, frame_time, psf_radius : float, optional
        As in :func:`free` (4.0 µm²/s, 0.1 µm, 1e-3 s, 0.25 µm).
    fraction : optional
        As in :func:`free`, with several `diffusion` values.
    density, brightness, background, offset : float, optional
        As in :func:`free` (5.0 /µm², 50.0, 2.0, 100.0); the density is
        that inside the cell, the same in every compartment.
    channel_width : float, optional, default: 0.8
        Width of the channel in µm, > 0.
    channel_angle : float, optional, default: 0.0
        Direction of the channel in degrees from the x (column) axis
        toward the y (row) axis: 0 runs along the rows, 90 along the
        columns.
    cell : float or (float, float), optional
        Semi-axes of the elliptic cell along x and y in µm, > 0; one
        number gives a circle. None (default) fills most of the field:
        ``(0.45 * width, 0.38 * height) * pixel_size``.
    seed, dtype, progress : optional
        As in :func:`free`.

    Returns
    -------
    Simulation
        ``data`` of shape ``shape`` and the ground ``truth``, whose
        ``geometry`` holds the cell's and the channel's centre, size and
        angle in µm and pixels.

    Raises
    ------
    TypeError
        An argument has the wrong type, or ``dtype`` is not an integer or
        floating-point type.
    ValueError
        An argument is out of range.

    Notes
    -----
    Walls are reflecting by rejection: a step that would end in another
    compartment or outside the cell is not taken, and the particle stays
    where it is for that frame. The proposed steps are symmetric, so the
    density stays uniform in every compartment (the rule is a Metropolis
    walk with a uniform target). The compartments are convex, so a step
    whose end lies in the particle's own compartment never crosses a wall
    on its way.

    The default run (64x64x32,000, 110 particles) took 8 s on a 2-core
    machine, most of it drawing the Poisson noise; the data take 262 MB
    and the frames are made in chunks of at most 256.

    Examples
    --------
    >>> sim = channel(shape=(8, 32, 32), seed=0)
    >>> sim.data.shape
    (8, 32, 32)
    >>> sim.truth['geometry']['channel']['width']
    0.8

    """
    params = _parameters(
        shape=shape,
        diffusion=diffusion,
        fraction=fraction,
        pixel_size=pixel_size,
        frame_time=frame_time,
        psf_radius=psf_radius,
        density=density,
        brightness=brightness,
        background=background,
        offset=offset,
        seed=seed,
        dtype=dtype,
    )
    channel_width = check_real(channel_width, 'channel_width', positive=True)
    channel_angle = check_real(channel_angle, 'channel_angle')
    _, height, width = params.shape
    px = params.pixel_size
    if cell is None:
        semi_axes = (0.45 * width * px, 0.38 * height * px)
    else:
        semi_axes = _check_pair(cell, 'cell')
    centre = (width * px / 2, height * px / 2)
    domain = _CellChannel(
        centre=(centre[0] / px, centre[1] / px),
        semi_axes=(semi_axes[0] / px, semi_axes[1] / px),
        angle=math.radians(channel_angle),
        width=channel_width / px,
    )
    geometry = {
        'coordinates': _COORDINATES,
        'boundary': 'reflecting: steps crossing a wall are rejected',
        'cell': {
            'shape': 'ellipse',
            'centre': list(centre),
            'semi_axes': list(semi_axes),
            'centre_px': list(domain.centre),
            'semi_axes_px': list(domain.semi_axes),
        },
        'channel': {
            'width': channel_width,
            'angle': channel_angle,
            'centre': list(centre),
            'width_px': domain.width,
            'centre_px': list(domain.centre),
        },
    }
    return _simulate('channel', params, domain, geometry, progress=progress)


def flow(
    *,
    shape: Sequence[int] = (4096, 64, 64),
    velocity: Sequence[float] = (50.0, 0.0),
    diffusion: float | Sequence[float] = 4.0,
    fraction: float | Sequence[float] | None = None,
    pixel_size: float = 0.1,
    frame_time: float = 1e-3,
    psf_radius: float = 0.25,
    density: float = 5.0,
    brightness: float = 50.0,
    background: float = 2.0,
    offset: float = 100.0,
    seed: int | None = None,
    dtype: DTypeLike = 'uint16',
    progress: bool = False,
) -> Simulation:
    """Return an image series of particles diffusing in a uniform flow.

    As :func:`free`, with every particle also moving by ``velocity *
    frame_time`` each frame. The periodic boundaries keep the density
    uniform.

    Parameters
    ----------
    shape : tuple of 3 int, optional, default: (4096, 64, 64)
        Frames, height and width; each at least 1.
    velocity : (float, float), optional, default: (50.0, 0.0)
        Drift velocity ``(vx, vy)`` in µm/s: ``vx`` along x (columns),
        ``vy`` along y (rows, downward in an image display).
    diffusion, fraction : optional
        As in :func:`free` (4.0 µm²/s, one population).
    pixel_size, frame_time, psf_radius : float, optional
        As in :func:`free` (0.1 µm, 1e-3 s, 0.25 µm).
    density, brightness, background, offset : float, optional
        As in :func:`free` (5.0 /µm², 50.0, 2.0, 100.0).
    seed, dtype, progress : optional
        As in :func:`free`.

    Returns
    -------
    Simulation
        ``data`` of shape ``shape`` and the ground ``truth``, with
        ``velocity`` in µm/s.

    Raises
    ------
    TypeError
        An argument has the wrong type, or ``dtype`` is not an integer or
        floating-point type.
    ValueError
        An argument is out of range.

    Notes
    -----
    The pair correlation toward offset ``d`` (a vector, µm) is
    ``(1 + 4 D tau / w²)**-1 * exp(-|d - v tau|² / (w² + 4 D tau))``
    times a constant: it peaks near ``tau = |d| / |v|`` toward the flow
    when the flow dominates (``|v| |d| >> 4 D``) and fades against it.

    Examples
    --------
    >>> sim = flow(shape=(8, 16, 16), velocity=(20.0, -10.0), seed=0)
    >>> sim.truth['kind'], sim.truth['velocity']
    ('flow', [20.0, -10.0])

    """
    params = _parameters(
        shape=shape,
        diffusion=diffusion,
        fraction=fraction,
        pixel_size=pixel_size,
        frame_time=frame_time,
        psf_radius=psf_radius,
        density=density,
        brightness=brightness,
        background=background,
        offset=offset,
        seed=seed,
        dtype=dtype,
    )
    velocity = _check_vector(velocity, 'velocity')
    domain, geometry = _periodic_field(params)
    return _simulate(
        'flow', params, domain, geometry, progress=progress, velocity=velocity
    )


def barrier(
    *,
    shape: Sequence[int] = (4096, 64, 64),
    wall: str = 'line',
    wall_angle: float = 90.0,
    wall_radius: float | None = None,
    wall_centre: Sequence[float] | None = None,
    diffusion: float | Sequence[float] = 4.0,
    fraction: float | Sequence[float] | None = None,
    pixel_size: float = 0.1,
    frame_time: float = 1e-3,
    psf_radius: float = 0.25,
    density: float = 5.0,
    brightness: float = 50.0,
    background: float = 2.0,
    offset: float = 100.0,
    seed: int | None = None,
    dtype: DTypeLike = 'uint16',
    progress: bool = False,
) -> Simulation:
    """Return an image series of particles diffusing around a barrier.

    Particles diffuse freely on both sides of an impermeable wall of no
    thickness, a straight line through the field or a ring (a nucleus,
    say), and never cross it. They move in a rectangle larger than the
    field of view by the PSF window on every side, whose sides reflect.
    The density is the same on both sides.

    Parameters
    ----------
    shape : tuple of 3 int, optional, default: (4096, 64, 64)
        Frames, height and width; each at least 1.
    wall : {'line', 'ring'}, optional, default: 'line'
        Shape of the barrier.
    wall_angle : float, optional, default: 90.0
        Direction of a line in degrees from the x (column) axis toward the
        y (row) axis: 90 (default) is a vertical line that parts the left
        from the right half, 0 a horizontal one. Ignored for a ring.
    wall_radius : float, optional
        Radius of a ring in µm, > 0. None (default) is
        ``0.3 * min(height, width) * pixel_size``. Ignored for a line.
    wall_centre : (float, float), optional
        Point ``(x, y)`` in µm that a line passes through, or the centre
        of a ring. None (default) is the centre of the field.
    diffusion, fraction : optional
        As in :func:`free` (4.0 µm²/s, one population).
    pixel_size, frame_time, psf_radius : float, optional
        As in :func:`free` (0.1 µm, 1e-3 s, 0.25 µm).
    density, brightness, background, offset : float, optional
        As in :func:`free` (5.0 /µm², 50.0, 2.0, 100.0).
    seed, dtype, progress : optional
        As in :func:`free`.

    Returns
    -------
    Simulation
        ``data`` of shape ``shape`` and the ground ``truth``, whose
        ``geometry`` holds the wall in µm and pixels.

    Raises
    ------
    TypeError
        An argument has the wrong type, or ``dtype`` is not an integer or
        floating-point type.
    ValueError
        An argument is out of range, or `wall` is not a known shape.

    Notes
    -----
    As in :func:`channel`, a step that would end on the other side of the
    wall or outside the rectangle is not taken. A line parts the
    rectangle into two convex halves, and the inside of a ring is convex,
    so there a step whose end is on the particle's side never crosses
    the wall; a step between two points outside a ring is also rejected
    if its straight path passes through the ring.

    Examples
    --------
    >>> sim = barrier(shape=(8, 32, 32), wall='ring', seed=0)
    >>> sim.truth['geometry']['wall']['shape']
    'ring'
    >>> sim.truth['geometry']['wall']['radius_px']
    9.6

    """
    params = _parameters(
        shape=shape,
        diffusion=diffusion,
        fraction=fraction,
        pixel_size=pixel_size,
        frame_time=frame_time,
        psf_radius=psf_radius,
        density=density,
        brightness=brightness,
        background=background,
        offset=offset,
        seed=seed,
        dtype=dtype,
    )
    if wall not in {'line', 'ring'}:
        msg = f"{wall=!r} is not 'line' or 'ring'"
        raise ValueError(msg)
    wall_angle = check_real(wall_angle, 'wall_angle')
    _, height, width = params.shape
    px = params.pixel_size
    if wall_radius is None:
        wall_radius = 0.3 * min(height, width) * px
    wall_radius = check_real(wall_radius, 'wall_radius', positive=True)
    if wall_centre is None:
        centre = (width * px / 2, height * px / 2)
    else:
        centre = _check_vector(wall_centre, 'wall_centre')
    margin = params.half + 1
    domain = _Barrier(
        (-margin, -margin),
        (width + margin, height + margin),
        wall=wall,
        centre=(centre[0] / px, centre[1] / px),
        angle=math.radians(wall_angle),
        radius=wall_radius / px,
    )
    spec: dict[str, Any] = {
        'shape': wall,
        'centre': list(centre),
        'centre_px': list(domain.centre),
    }
    if wall == 'line':
        spec['angle'] = wall_angle
    else:
        spec['radius'] = wall_radius
        spec['radius_px'] = domain.radius
    geometry = {
        'coordinates': _COORDINATES,
        'boundary': 'reflecting: steps crossing a wall are rejected',
        'domain': [float(v * px) for v in (*domain.lower, *domain.upper)],
        'domain_px': [float(v) for v in (*domain.lower, *domain.upper)],
        'wall': spec,
    }
    return _simulate('barrier', params, domain, geometry, progress=progress)


@dataclasses.dataclass(frozen=True)
class _Parameters:
    """Validated physical parameters shared by every simulation."""

    shape: tuple[int, int, int]
    diffusion: float | tuple[float, ...]
    pixel_size: float
    frame_time: float
    psf_radius: float
    density: float
    brightness: float
    background: float
    offset: float
    seed: int
    dtype: numpy.dtype
    fraction: tuple[float, ...] | None = None

    @property
    def sigma(self) -> float:
        """Standard deviation of a step per axis in pixels.

        That of the first population if there are several.

        """
        return self.sigmas[0]

    @property
    def sigmas(self) -> tuple[float, ...]:
        """Standard deviation of a step per axis in pixels, per population."""
        values = (
            self.diffusion
            if isinstance(self.diffusion, tuple)
            else (self.diffusion,)
        )
        return tuple(
            math.sqrt(2.0 * value * self.frame_time) / self.pixel_size
            for value in values
        )

    @property
    def width(self) -> float:
        """1/e² radius of the PSF in pixels."""
        return self.psf_radius / self.pixel_size

    @property
    def half(self) -> int:
        """Half-width in pixels of the window a spot is rendered in."""
        return math.ceil(2.0 * self.width) + 1


def _parameters(
    *,
    shape: Any,
    diffusion: Any,
    pixel_size: Any,
    frame_time: Any,
    psf_radius: Any,
    density: Any,
    brightness: Any,
    background: Any,
    offset: Any,
    seed: Any,
    dtype: Any,
    fraction: Any = None,
) -> _Parameters:
    """Return validated parameters or raise TypeError/ValueError."""
    diffusion, fraction = _check_diffusion(diffusion, fraction)
    return _Parameters(
        shape=_check_shape(shape),
        diffusion=diffusion,
        fraction=fraction,
        pixel_size=check_real(pixel_size, 'pixel_size', positive=True),
        frame_time=check_real(frame_time, 'frame_time', positive=True),
        psf_radius=check_real(psf_radius, 'psf_radius', positive=True),
        density=check_real(density, 'density', minimum=0.0),
        brightness=check_real(brightness, 'brightness', minimum=0.0),
        background=check_real(background, 'background', minimum=0.0),
        offset=check_real(offset, 'offset'),
        seed=_check_seed(seed),
        dtype=_check_dtype(dtype),
    )


def _periodic_field(params: _Parameters, /) -> tuple[_Periodic, dict]:
    """Return the periodic domain of free and flow, and its geometry.

    The domain is larger than the field of view by the PSF window on
    every side.

    """
    _, height, width = params.shape
    margin = params.half + 1
    domain = _Periodic((-margin, -margin), (width + margin, height + margin))
    px = params.pixel_size
    geometry = {
        'coordinates': _COORDINATES,
        'boundary': 'periodic',
        'domain': [float(v * px) for v in (*domain.lower, *domain.upper)],
        'domain_px': [float(v) for v in (*domain.lower, *domain.upper)],
    }
    return domain, geometry


def _check_diffusion(
    diffusion: Any, fraction: Any, /
) -> tuple[float | tuple[float, ...], tuple[float, ...] | None]:
    """Return one diffusion coefficient, or several with their fractions."""
    if isinstance(diffusion, numbers.Real):
        diffusion = check_real(diffusion, 'diffusion', positive=True)
        if fraction is not None:
            msg = (
                f'{fraction=!r} needs several diffusion coefficients, '
                f'got {diffusion=}'
            )
            raise ValueError(msg)
        return diffusion, None
    items = _items(diffusion)
    if items is None or not items:
        msg = f'{diffusion=!r} is not a number or a sequence of numbers'
        raise TypeError(msg)
    values = tuple(
        check_real(value, f'diffusion[{i}]', positive=True)
        for i, value in enumerate(items)
    )
    if len(values) == 1:
        return _check_diffusion(values[0], fraction)
    if fraction is None:
        return values, tuple(1.0 / len(values) for _ in values)
    if isinstance(fraction, numbers.Real) and len(values) == 2:
        first = check_real(fraction, 'fraction', minimum=0.0)
        if first > 1.0:
            msg = f'{fraction=} must be <= 1'
            raise ValueError(msg)
        return values, (first, 1.0 - first)
    shares = _items(fraction)
    if shares is None:
        msg = f'{fraction=!r} is not a number or a sequence of numbers'
        raise TypeError(msg)
    if len(shares) != len(values):
        msg = (
            f'{fraction=!r} must have one value per diffusion coefficient '
            f'({len(values)})'
        )
        raise ValueError(msg)
    shares = tuple(
        check_real(value, f'fraction[{i}]', minimum=0.0)
        for i, value in enumerate(shares)
    )
    if not math.isclose(sum(shares), 1.0, abs_tol=1e-6):
        msg = f'{fraction=!r} must sum to 1, not {sum(shares)}'
        raise ValueError(msg)
    return values, shares


def _check_shape(shape: Any, /) -> tuple[int, int, int]:
    """Return shape as 3 ints >= 1 or raise."""
    msg = f'{shape=} must be 3 integers >= 1 (frames, height, width)'
    items = _items(shape)
    if items is None:
        raise TypeError(msg)
    if len(items) != 3:
        raise ValueError(msg)
    for value in items:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(msg)
        if value < 1:
            raise ValueError(msg)
    return (int(items[0]), int(items[1]), int(items[2]))


def _items(value: Any, /) -> tuple[Any, ...] | None:
    """Return the items of a sequence or 1-D array, None for others."""
    if isinstance(value, str | bytes):
        return None
    if isinstance(value, numpy.ndarray) and value.ndim == 1:
        return tuple(value.tolist())
    if isinstance(value, Sequence):
        return tuple(value)
    return None


def _check_pair(value: Any, name: str, /) -> tuple[float, float]:
    """Return one or two positive numbers as a pair or raise."""
    items = (
        (value, value) if isinstance(value, numbers.Real) else _items(value)
    )
    if items is None or len(items) != 2:
        msg = f'{name}={value!r} is not a number or a pair of numbers'
        raise TypeError(msg)
    return (
        check_real(items[0], f'{name}[0]', positive=True),
        check_real(items[1], f'{name}[1]', positive=True),
    )


def _check_vector(value: Any, name: str, /) -> tuple[float, float]:
    """Return two finite numbers or raise."""
    items = _items(value)
    if items is None or len(items) != 2:
        msg = f'{name}={value!r} is not a pair of numbers'
        raise TypeError(msg)
    return (
        check_real(items[0], f'{name}[0]'),
        check_real(items[1], f'{name}[1]'),
    )


def _check_seed(seed: Any, /) -> int:
    """Return the seed to use, a random one for None."""
    if seed is None:
        # a 63-bit seed reproduces the run and fits any metadata store
        return int(numpy.random.SeedSequence().entropy % 2**63)
    return check_int(seed, 'seed', minimum=0)


def _check_dtype(dtype: Any, /) -> numpy.dtype:
    """Return an integer or floating-point dtype or raise TypeError."""
    msg = f'{dtype=} is not an integer or floating-point type'
    if dtype is None:
        raise TypeError(msg)
    try:
        result = numpy.dtype(dtype)
    except TypeError as exc:
        raise TypeError(msg) from exc
    if result.kind not in 'uif':
        raise TypeError(msg)
    return result


class _Periodic:
    """Rectangle with periodic boundaries, in pixel units."""

    def __init__(
        self, lower: tuple[float, float], upper: tuple[float, float]
    ) -> None:
        self.lower = tuple(float(v) for v in lower)
        self.upper = tuple(float(v) for v in upper)
        self._lower = numpy.array(self.lower)
        self._size = numpy.array(self.upper) - self._lower

    @property
    def area(self) -> float:
        """Area in square pixels."""
        return float(self._size[0] * self._size[1])

    def sample(self, count: int, rng: numpy.random.Generator) -> numpy.ndarray:
        """Return count uniformly placed positions, shape (count, 2)."""
        return self._lower + rng.random((count, 2)) * self._size

    def walk(
        self, positions: numpy.ndarray, steps: numpy.ndarray
    ) -> numpy.ndarray:
        """Return positions after each of steps (frames, n, 2)."""
        track = numpy.cumsum(steps, axis=0)
        track += positions - self._lower
        numpy.mod(track, self._size, out=track)
        track += self._lower
        return track


class _CellChannel:
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


class _Barrier:
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

    def _through_ring(
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
                accept &= ~(outside & self._through_ring(current, proposal))
            numpy.copyto(current, proposal, where=accept[:, None])
            track[frame] = current
        return track


def _tracks(
    domain: Any,
    positions: numpy.ndarray,
    nframes: int,
    *,
    sigma: float | numpy.ndarray,
    rng: numpy.random.Generator,
    chunk: int = _CHUNK_FRAMES,
    drift: tuple[float, float] | None = None,
) -> Iterator[numpy.ndarray]:
    """Yield positions in pixels frame by frame, chunks of (k, n, 2).

    Frame ``t`` shows the particles after ``t + 1`` steps of standard
    deviation ``sigma`` per axis (one number, or one per particle) plus
    ``drift`` (pixels per frame along x and y); ``domain`` applies the
    boundaries.

    """
    if not numpy.isscalar(sigma):
        sigma = numpy.asarray(sigma, dtype=numpy.float64)[:, None]
    for start in range(0, nframes, chunk):
        steps = rng.standard_normal(
            (min(chunk, nframes - start), *positions.shape)
        )
        steps *= sigma
        if drift is not None:
            steps += drift
        track = domain.walk(positions, steps)
        positions = track[-1]
        yield track


def _render(
    out: numpy.ndarray,
    positions: numpy.ndarray,
    *,
    brightness: float,
    width: float,
    half: int,
) -> None:
    """Add the spots of positions (frames, n, 2) to out (frames, H, W)."""
    from ._simulate_kernels import render

    positions = numpy.ascontiguousarray(positions, dtype=numpy.float64)
    render(out, positions, float(brightness), math.sqrt(2.0) / width, half)


def _simulate(
    kind: str,
    params: _Parameters,
    domain: Any,
    geometry: dict[str, Any],
    *,
    progress: bool,
    velocity: tuple[float, float] | None = None,
) -> Simulation:
    """Return the simulation of particles moving in domain.

    ``velocity`` (µm/s along x and y) adds a drift to every step.

    """
    from . import __version__

    nframes, height, width = params.shape
    place, walk, noise = (
        numpy.random.default_rng(child)
        for child in numpy.random.SeedSequence(params.seed).spawn(3)
    )
    count = round(params.density * domain.area * params.pixel_size**2)
    positions = domain.sample(count, place)
    populations = None
    sigma: float | numpy.ndarray = params.sigma
    if params.fraction is not None:
        # positions are independent, so populations can go by index
        bounds = numpy.rint(numpy.cumsum((0.0, *params.fraction)) * count)
        bounds[-1] = count
        populations = numpy.diff(bounds).astype(int).tolist()
        sigma = numpy.repeat(params.sigmas, populations)
    drift = None
    if velocity is not None:
        scale = params.frame_time / params.pixel_size
        drift = (velocity[0] * scale, velocity[1] * scale)
    chunk = max(1, min(_CHUNK_FRAMES, _CHUNK_PIXELS // (height * width)))
    data = numpy.empty(params.shape, dtype=params.dtype)
    buffer = numpy.empty((chunk, height, width))
    tracks = _tracks(
        domain,
        positions,
        nframes,
        sigma=sigma,
        rng=walk,
        chunk=chunk,
        drift=drift,
    )
    with progress_bar(
        nframes, enable=progress, desc=f'simulate {kind}', unit='frame'
    ) as bar:
        for start, track in zip(range(0, nframes, chunk), tracks, strict=True):
            mean = buffer[: len(track)]
            mean.fill(params.background)
            _render(
                mean,
                track,
                brightness=params.brightness,
                width=params.width,
                half=params.half,
            )
            data[start : start + len(track)] = _counts(
                noise.poisson(mean), params.offset, params.dtype
            )
            bar.update(len(track))
    truth = {
        'kind': kind,
        'shape': list(params.shape),
        'dtype': params.dtype.name,
        'diffusion': (
            list(params.diffusion)
            if isinstance(params.diffusion, tuple)
            else params.diffusion
        ),
        'pixel_size': params.pixel_size,
        'frame_time': params.frame_time,
        'psf_radius': params.psf_radius,
        'density': params.density,
        'brightness': params.brightness,
        'background': params.background,
        'offset': params.offset,
        'seed': params.seed,
        'particles': count,
        'geometry': geometry,
        'units': dict(_UNITS),
        'package': f'ipcf {__version__}',
    }
    if populations is not None:
        truth['fraction'] = list(params.fraction)
        truth['populations'] = populations
    if velocity is not None:
        truth['velocity'] = list(velocity)
    return Simulation(data=data, truth=truth)


def _counts(
    photons: numpy.ndarray, offset: float, dtype: numpy.dtype
) -> numpy.ndarray:
    """Return photons plus offset, rounded and clipped for integer dtype."""
    values = photons.astype(numpy.float64)
    values += offset
    if dtype.kind in 'ui':
        info = numpy.iinfo(dtype)
        numpy.rint(values, out=values)
        numpy.clip(values, info.min, info.max, out=values)
    return values.astype(dtype)


# light-sheet series ----------------------------------------------------

# rim of the cell, in pixels, that carries the static membrane signal
_SPIM_RIM = 3
# camera noise images are cut from a pool this many pixels larger than a
# frame along each axis, at a random offset per frame
_SPIM_SHIFT = 64
# the cell's outline: radius modulated by 1 + a cos(k theta + phase)
_SPIM_MODES = ((3, 0.06), (5, 0.04))
# tile frames simulated at once (render buffers of a few MiB)
_SPIM_CHUNK = 64


def spim(
    directory: str | os.PathLike[str],
    /,
    *,
    shape: Sequence[int] = (18432, 512, 1024),
    diffusion: float = 4.0,
    pixel_size: float = 0.1,
    frame_time: float = 1e-3,
    psf_radius: float = 0.25,
    density: float = 10.0,
    brightness: float = 50.0,
    background: float = 2.0,
    offset: float = 100.0,
    read_noise: float = 1.5,
    border: float = 20.0,
    bleach_time: float | None = 15.0,
    cell: float | Sequence[float] | None = None,
    tile: int = 128,
    seed: int | None = None,
    prefix: str = 'frame',
    overwrite: bool = False,
    progress: bool = False,
    num_threads: int | None = None,
) -> pathlib.Path:
    """Write a light-sheet (SPIM) series of a bleaching cell as TIFF files.

    One big-endian uint16 TIFF file per frame, ``<prefix><index>.tif``, as
    the tutorial's light-sheet microscope streams frames to disk: a
    cell-shaped bright region on a dark background, particles diffusing
    inside the cell, a brighter rim (the cell border), photobleaching and
    camera noise. The data are larger than memory (17 GB with the
    defaults) and are written frame by frame; nothing is returned but
    the directory. The ground truth is stored as JSON in
    ``directory / 'truth.json'`` and as the metadata of the first file
    (:func:`ipcf.io.read_metadata`).

    Parameters
    ----------
    directory : str or os.PathLike
        Output directory; must not exist unless `overwrite` is True.
    shape : tuple of 3 int, optional, default: (18432, 512, 1024)
        Frames, height and width: 16,384 frames plus 1,024 on each side
        for the default bleach filter, of 512x1024 pixels (1 MiB each).
    diffusion, pixel_size, frame_time, psf_radius : float, optional
        As in :func:`free` (4.0 µm²/s, 0.1 µm, 1e-3 s, 0.25 µm).
    density, brightness : float, optional, default: 10.0, 50.0
        Particles per µm² inside the cell and their photons per frame (at
        the start, before bleaching).
    background, offset : float, optional, default: 2.0, 100.0
        Background photons per pixel and frame (everywhere, not bleached)
        and the camera offset in counts.
    read_noise : float, optional, default: 1.5
        Standard deviation of the camera's Gaussian read noise in counts.
    border : float, optional, default: 20.0
        Photons per pixel and frame of the cell's rim, 3 pixels wide.
    bleach_time : float or None, optional, default: 15.0
        Time constant in s of the exponential decay of the brightness of
        the particles and the rim (the intensity falls to
        ``exp(-frames * frame_time / bleach_time)``, 29 % with the
        defaults). None: no bleaching.
    cell : float or (float, float), optional
        Semi-axes in µm along x and y of the ellipse the cell's outline
        modulates. Default: ``(0.36 * width, 0.34 * height) *
        pixel_size``.
    tile : int, optional, default: 128
        Side in pixels of the simulated periodic field (see Notes), at
        least ``2 * ceil(2 * psf_radius / pixel_size) + 3``.
    seed : int, optional
        Seed; None picks one (recorded in the truth).
    prefix : str, optional, default: 'frame'
        File name prefix.
    overwrite : bool, optional, default: False
        Replace an existing directory that holds only TIFF files and a
        ``truth.json``.
    progress : bool, optional, default: False
        Show a progress bar of bytes written.
    num_threads : int, optional
        Threads composing and writing frames. Default: all cores.

    Returns
    -------
    pathlib.Path
        The directory written.

    Raises
    ------
    FileExistsError
        If `directory` exists and `overwrite` is False, or it holds other
        files.
    TypeError, ValueError
        If an argument has the wrong type or is out of range.

    Notes
    -----
    Rendering every particle of a 512x1024 field for 18,432 frames would
    take hours; writing 17 GB should take minutes. Two shortcuts make the
    writing I/O-bound:

    - The particles are simulated in one ``tile`` x ``tile`` field with
      periodic boundaries, rendered with the spots that cross an edge
      wrapped to the opposite side, and this field is repeated across the
      frame and cut by the cell's outline. A periodic field tiles without
      seams: every pixel pair closer than half a tile sees exactly the
      correlations of free diffusion at ``diffusion``, across tile edges
      too. Pixels a whole tile apart show the same particles (and the
      same photon noise), which no pCF with a radius below ``tile / 2``
      can see.
    - The camera noise (Poisson background and Gaussian read noise, plus
      the offset) is drawn once for an image 64 pixels larger than a
      frame along each axis; each frame takes the window at a random
      offset. Two frames share a noise pattern shifted by their offsets'
      difference, so a given pixel pair at a given delay sees correlated
      noise for about one frame pair in 4,000: negligible.

    Particles are cut at the cell's outline (no reflecting wall), so
    curves within the PSF's reach of the outline are not those of a
    closed cell. The rim's photons are drawn from a Poisson distribution
    every frame. Bleaching scales the expected photons of particles and
    rim before the photon noise is drawn.

    On a 2-core machine, 512 frames of 512x1024 pixels were written at
    250-270 MB/s, as fast as files of that size could be written there;
    small frames are limited by the tile instead (2048 frames of 256x256
    pixels: 60-90 MB/s). The whole default series takes about a minute
    per 15 GB at the first rate.

    Examples
    --------
    >>> import tempfile
    >>> from ipcf.io import open_series
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = spim(f'{tmp}/cell', shape=(8, 64, 96), tile=32, seed=0)
    ...     series = open_series(path)
    ...     series.shape, series.dtype, len(list(path.glob('*.tif')))
    ((8, 64, 96), dtype('uint16'), 8)

    """
    import json
    from concurrent.futures import ThreadPoolExecutor

    import tifffile
    from scipy import ndimage

    from . import __version__
    from ._utils import number_threads
    from .io import _atomic

    params = _parameters(
        shape=shape,
        diffusion=diffusion,
        pixel_size=pixel_size,
        frame_time=frame_time,
        psf_radius=psf_radius,
        density=density,
        brightness=brightness,
        background=background,
        offset=offset,
        seed=seed,
        dtype='uint16',
    )
    if isinstance(params.diffusion, tuple):
        msg = f'{diffusion=!r}: spim takes one diffusion coefficient'
        raise ValueError(msg)
    read_noise = check_real(read_noise, 'read_noise', minimum=0.0)
    border = check_real(border, 'border', minimum=0.0)
    if bleach_time is not None:
        bleach_time = check_real(bleach_time, 'bleach_time', positive=True)
    if not 0.0 <= params.offset <= 32768.0:
        msg = f'offset={params.offset} must be between 0 and 32768'
        raise ValueError(msg)
    half = params.half
    tile = check_int(tile, 'tile', minimum=2 * half + 1)
    nthreads = number_threads(num_threads)
    if not isinstance(prefix, str) or any(c in prefix for c in '/\\'):
        msg = f'{prefix=!r} must be a file name prefix without separators'
        raise ValueError(msg)
    directory = pathlib.Path(directory)
    _check_spim_output(directory, overwrite=overwrite)

    nframes, height, width = params.shape
    px = params.pixel_size
    place, walk, photons, camera, outline = numpy.random.SeedSequence(
        params.seed
    ).spawn(5)
    place = numpy.random.default_rng(place)
    walk = numpy.random.default_rng(walk)
    outline = numpy.random.default_rng(outline)
    # the cell: a modulated ellipse, its rim, and their pixels
    if cell is None:
        semi = (0.36 * width, 0.34 * height)
    else:
        semi_um = _check_pair(cell, 'cell')
        semi = (semi_um[0] / px, semi_um[1] / px)
    centre = (width / 2.0, height / 2.0)
    phases = outline.uniform(0.0, 2.0 * math.pi, len(_SPIM_MODES))
    ys, xs = numpy.mgrid[0:height, 0:width] + 0.5
    dx = (xs - centre[0]) / semi[0]
    dy = (ys - centre[1]) / semi[1]
    theta = numpy.arctan2(dy, dx)
    radius = numpy.ones_like(theta)
    for (mode, amplitude), phase in zip(_SPIM_MODES, phases, strict=True):
        radius += amplitude * numpy.cos(mode * theta + phase)
    inside = numpy.hypot(dx, dy) < radius
    del ys, xs, dx, dy, theta, radius
    rim = inside & ~ndimage.binary_erosion(inside, iterations=_SPIM_RIM)
    rim_index = numpy.flatnonzero(rim)
    mask = inside.astype(numpy.uint16)
    if inside.any():
        rows = numpy.flatnonzero(inside.any(axis=1))
        cols = numpy.flatnonzero(inside.any(axis=0))
        bbox = [
            int(rows[0]),
            int(rows[-1]) + 1,
            int(cols[0]),
            int(cols[-1]) + 1,
        ]
    else:
        bbox = None

    # camera noise pool: offset + Poisson(background) + read noise
    pool_shape = (height + _SPIM_SHIFT, width + _SPIM_SHIFT)
    rng = numpy.random.default_rng(camera.spawn(1)[0])
    pool = rng.poisson(params.background, pool_shape).astype(numpy.float64)
    pool += rng.normal(0.0, read_noise, pool_shape) if read_noise else 0.0
    pool += params.offset
    numpy.rint(pool, out=pool)
    numpy.clip(pool, 0, 65535, out=pool)
    pool = pool.astype(numpy.uint16)

    # the periodic tile of diffusing particles
    domain = _Periodic((0.0, 0.0), (float(tile), float(tile)))
    count = round(params.density * domain.area * px**2)
    positions = domain.sample(count, place)
    chunk = max(1, min(_SPIM_CHUNK, nframes))
    tracks = _tracks(
        domain, positions, nframes, sigma=params.sigma, rng=walk, chunk=chunk
    )

    def bleach(start: int, stop: int) -> numpy.ndarray:
        times = numpy.arange(start, stop) * params.frame_time
        if bleach_time is None:
            return numpy.ones(len(times))
        return numpy.exp(-times / bleach_time)

    def make_chunk(start: int, track: numpy.ndarray, seeds: Any) -> tuple:
        size = tile + 2 * half
        pad = numpy.zeros((len(track), size, size))
        _render(
            pad,
            track + half,
            brightness=params.brightness,
            width=params.width,
            half=half,
        )
        # fold the margins onto the opposite edges: a periodic field
        band = pad[:, half : half + tile].copy()
        band[:, :half] += pad[:, tile + half :]
        band[:, tile - half :] += pad[:, :half]
        field = band[:, :, half : half + tile].copy()
        field[:, :, :half] += band[:, :, tile + half :]
        field[:, :, tile - half :] += band[:, :, :half]
        factor = bleach(start, start + len(track))
        field *= factor[:, None, None]
        rng = numpy.random.default_rng(seeds)
        counts = rng.poisson(field)
        lights = rng.poisson(
            border * factor[:, None], (len(track), len(rim_index))
        )
        shifts = rng.integers(0, _SPIM_SHIFT + 1, (len(track), 2))
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
            'coordinates': _COORDINATES,
            'cell': {
                'shape': (
                    'ellipse whose radius is modulated by '
                    '1 + sum(a * cos(k * theta + phase))'
                ),
                'centre': [c * px for c in centre],
                'semi_axes': [s * px for s in semi],
                'centre_px': list(centre),
                'semi_axes_px': list(semi),
                'modulation': [
                    {'k': k, 'a': a, 'phase': float(p)}
                    for (k, a), p in zip(_SPIM_MODES, phases, strict=True)
                ],
                'bbox_px': bbox,
                'area_px': int(inside.sum()),
                'rim_px': _SPIM_RIM,
            },
            'boundary': (
                f'particles diffuse freely in a periodic {tile}x{tile} '
                f'pixel field repeated across the frame and cut by the '
                f'cell outline'
            ),
        },
        'noise': (
            'per frame, a window at a random offset (up to '
            f'{_SPIM_SHIFT} pixels) of one pre-drawn image of offset + '
            'Poisson(background) + Normal(0, read_noise), rounded'
        ),
        'units': {
            **_UNITS,
            'read_noise': 'counts',
            'border': 'photons/pixel/frame',
            'bleach_time': 's',
            'tile': 'pixels',
        },
        'package': f'ipcf {__version__}',
    }

    def write(
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

    nbytes = nframes * height * width * 2
    bar = progress_bar(
        nbytes,
        enable=progress,
        desc=f'writing {directory.name}',
        unit='B',
        unit_scale=True,
    )
    directory.parent.mkdir(parents=True, exist_ok=True)
    frame_bytes = height * width * 2

    def work(
        folder: pathlib.Path, start: int, track: numpy.ndarray, seeds: Any
    ) -> None:
        counts, lights, shifts, wide = make_chunk(start, track, seeds)
        for i in range(len(track)):
            write(folder, start + i, counts[i], lights[i], shifts[i], wide)

    # each chunk of frames is made and written by one thread, with its own
    # random numbers: the same data whatever the number of threads
    starts = range(0, nframes, chunk)
    seeds = photons.spawn(len(starts))
    with (
        bar,
        _atomic(directory, overwrite=overwrite, directory=True) as tmp,
        ThreadPoolExecutor(nthreads) as executor,
    ):
        pending: list = []
        for start, track, seed in zip(starts, tracks, seeds, strict=True):
            if len(pending) > nthreads:
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


def _check_spim_output(directory: pathlib.Path, *, overwrite: bool) -> None:
    """Raise FileExistsError unless directory may be written."""
    if not (directory.exists() or directory.is_symlink()):
        return
    name = repr(os.fspath(directory))
    if not overwrite:
        msg = f'{name} exists; pass overwrite=True to replace it'
        raise FileExistsError(msg)
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
