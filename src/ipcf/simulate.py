"""Simulate fluorescence image series of diffusing particles.

Each function returns a :class:`Simulation`: the camera counts as an array
``(T, H, W)`` and the ground truth as a JSON-serializable dict, ready for
:meth:`Simulation.save`.

- :func:`free`: free diffusion, uniform density, no edges.
- :func:`channel`: diffusion in a cell crossed by a channel whose walls
  block diffusion, the stand-in for the tutorial's
  ``Simulation_Channel.bin``.

The model (the same for every function):

- Particles take independent Brownian steps, Gaussian with standard
  deviation ``sqrt(2 * diffusion * frame_time)`` per axis and frame.
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
from collections.abc import Iterator, Sequence
from typing import Any

import numpy
from numpy.typing import DTypeLike

from ._utils import check_int, progress_bar

__all__ = ['Simulation', 'channel', 'free']

# frames rendered at once: float64 buffers of about 16 MiB
_CHUNK_PIXELS = 2**21
_CHUNK_FRAMES = 256

_UNITS = {
    'diffusion': 'um^2/s',
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
    diffusion: float = 4.0,
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
    diffusion : float, optional, default: 4.0
        Diffusion coefficient in µm²/s, > 0.
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
    peaks near ``tau = (d² - w²) / (4 D)``.

    Examples
    --------
    >>> sim = free(shape=(8, 16, 16), seed=0)
    >>> sim.data.shape, sim.data.dtype
    ((8, 16, 16), dtype('uint16'))
    >>> sim.truth['kind'], sim.truth['diffusion']
    ('free', 4.0)

    """
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
        dtype=dtype,
    )
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
    return _simulate('free', params, domain, geometry, progress=progress)


def channel(
    *,
    shape: Sequence[int] = (32000, 64, 64),
    diffusion: float = 4.0,
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
    channel_width = _check_real(channel_width, 'channel_width', positive=True)
    channel_angle = _check_real(channel_angle, 'channel_angle')
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


@dataclasses.dataclass(frozen=True)
class _Parameters:
    """Validated physical parameters shared by every simulation."""

    shape: tuple[int, int, int]
    diffusion: float
    pixel_size: float
    frame_time: float
    psf_radius: float
    density: float
    brightness: float
    background: float
    offset: float
    seed: int
    dtype: numpy.dtype

    @property
    def sigma(self) -> float:
        """Standard deviation of a step per axis in pixels."""
        step = math.sqrt(2.0 * self.diffusion * self.frame_time)
        return step / self.pixel_size

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
) -> _Parameters:
    """Return validated parameters or raise TypeError/ValueError."""
    return _Parameters(
        shape=_check_shape(shape),
        diffusion=_check_real(diffusion, 'diffusion', positive=True),
        pixel_size=_check_real(pixel_size, 'pixel_size', positive=True),
        frame_time=_check_real(frame_time, 'frame_time', positive=True),
        psf_radius=_check_real(psf_radius, 'psf_radius', positive=True),
        density=_check_real(density, 'density', minimum=0.0),
        brightness=_check_real(brightness, 'brightness', minimum=0.0),
        background=_check_real(background, 'background', minimum=0.0),
        offset=_check_real(offset, 'offset'),
        seed=_check_seed(seed),
        dtype=_check_dtype(dtype),
    )


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


def _check_real(
    value: Any,
    name: str,
    /,
    *,
    positive: bool = False,
    minimum: float | None = None,
) -> float:
    """Return value as a finite float or raise TypeError/ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        msg = f'{name}={value!r} is not a real number'
        raise TypeError(msg)
    value = float(value)
    if not math.isfinite(value):
        msg = f'{name}={value} must be finite'
        raise ValueError(msg)
    if positive and not value > 0.0:
        msg = f'{name}={value} must be > 0'
        raise ValueError(msg)
    if minimum is not None and value < minimum:
        msg = f'{name}={value} must be >= {minimum}'
        raise ValueError(msg)
    return value


def _check_pair(value: Any, name: str, /) -> tuple[float, float]:
    """Return one or two positive numbers as a pair or raise."""
    items = (
        (value, value) if isinstance(value, numbers.Real) else _items(value)
    )
    if items is None or len(items) != 2:
        msg = f'{name}={value!r} is not a number or a pair of numbers'
        raise TypeError(msg)
    return (
        _check_real(items[0], f'{name}[0]', positive=True),
        _check_real(items[1], f'{name}[1]', positive=True),
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


def _tracks(
    domain: Any,
    positions: numpy.ndarray,
    nframes: int,
    *,
    sigma: float,
    rng: numpy.random.Generator,
    chunk: int = _CHUNK_FRAMES,
) -> Iterator[numpy.ndarray]:
    """Yield positions in pixels frame by frame, chunks of (k, n, 2).

    Frame ``t`` shows the particles after ``t + 1`` steps of standard
    deviation ``sigma`` per axis; ``domain`` applies the boundaries.

    """
    for start in range(0, nframes, chunk):
        steps = rng.standard_normal(
            (min(chunk, nframes - start), *positions.shape)
        )
        steps *= sigma
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
) -> Simulation:
    """Return the simulation of particles moving in domain."""
    from . import __version__

    nframes, height, width = params.shape
    place, walk, noise = (
        numpy.random.default_rng(child)
        for child in numpy.random.SeedSequence(params.seed).spawn(3)
    )
    count = round(params.density * domain.area * params.pixel_size**2)
    positions = domain.sample(count, place)
    chunk = max(1, min(_CHUNK_FRAMES, _CHUNK_PIXELS // (height * width)))
    data = numpy.empty(params.shape, dtype=params.dtype)
    buffer = numpy.empty((chunk, height, width))
    tracks = _tracks(
        domain, positions, nframes, sigma=params.sigma, rng=walk, chunk=chunk
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
        'diffusion': params.diffusion,
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
