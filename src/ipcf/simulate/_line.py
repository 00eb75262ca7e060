"""Line scans and detector arrays: confocal spots over diffusing particles.

:func:`line_scan` moves particles in 2-D under a line that a confocal
spot scans again and again, each position sampled at its own time within
the line, optionally with a barrier across the line (impermeable, or
crossed with a given probability per attempt). :func:`detector_array`
sees one spot through the detection volumes of an array detector. Both
reuse the Brownian steps and domains of the image simulations
(:mod:`ipcf.simulate._motion`, :mod:`ipcf.simulate._domains`) and their
photon counts (:func:`ipcf.simulate._optics.counts`).

"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy
from numpy.typing import ArrayLike, DTypeLike

from .._utils import progress_bar
from .._validate import check_bool, check_int, check_positive, check_real
from ._domains import Barrier, Periodic
from ._motion import random_streams, tracks
from ._optics import counts
from ._parameters import Parameters, check_parameters, document
from ._simulation import UNITS, Simulation

__all__ = ['detector_array', 'line_scan']

_CHUNK = 256
"""Lines (or samples) simulated at once."""

LINE_UNITS = {
    **UNITS,
    'line_time': 's',
    'pixel_time': 's',
    'brightness': 'photons/particle/pixel dwell at the spot centre',
    'background': 'photons/pixel dwell',
    'geometry': 'um; keys ending in _px: pixels along the line',
}
"""Units of the ground truth of a line scan."""

ARRAY_UNITS = {
    'diffusion': 'um^2/s',
    'pitch': 'um',
    'positions': 'um (x, y), y downward',
    'sample_time': 's',
    'psf_radius': 'um (1/e^2 radius of each detection volume)',
    'density': 'particles/um^2',
    'brightness': 'photons/particle/sample at a volume centre',
    'background': 'photons/detector/sample',
    'geometry': 'um',
}
"""Units of the ground truth of a detector-array series."""


class _Wall(Barrier):
    """A straight wall across the line, crossed with a probability.

    A step that would cross the wall is taken with probability
    `crossing` (0: impermeable, the :class:`Barrier` of the image
    simulations), else rejected; steps out of the rectangle are always
    rejected.

    """

    def __init__(self, *args: Any, crossing: float, rng: Any, **kw: Any):
        super().__init__(*args, **kw)
        self.crossing = float(crossing)
        self.rng = rng

    def walk(
        self, positions: numpy.ndarray, steps: numpy.ndarray
    ) -> numpy.ndarray:
        """Return positions after each of steps (frames, n, 2)."""
        track = numpy.empty_like(steps)
        current = positions.copy()
        label = self.label(current)
        for frame, step in enumerate(steps):
            proposal = current + step
            new = self.label(proposal)
            accept = new == label
            if self.crossing > 0.0:
                across = (new > 0) & ~accept
                accept |= across & (
                    self.rng.random(len(current)) < self.crossing
                )
            numpy.copyto(current, proposal, where=accept[:, None])
            numpy.copyto(label, new, where=accept)
            track[frame] = current
        return track


@document
def line_scan(
    *,
    shape: Sequence[int] = (16384, 64),
    diffusion: float = 4.0,
    pixel_size: float = 0.1,
    line_time: float = 1e-3,
    pixel_time: float | None = None,
    psf_radius: float = 0.25,
    density: float = 5.0,
    brightness: float = 50.0,
    background: float = 2.0,
    offset: float = 0.0,
    barrier: float | None = None,
    crossing: float = 0.0,
    seed: int | None = None,
    dtype: DTypeLike = 'uint16',
    progress: bool = False,
) -> Simulation:
    """Return a line-scan carpet (T, X) of particles diffusing in 2-D.

    A confocal spot scans a line of X positions ``pixel_size`` apart
    once every `line_time`; particles diffuse freely in the plane, or
    on both sides of a straight barrier across the line.

    Parameters
    ----------
    shape : (int, int), optional, default: (16384, 64)
        Scans T and positions X along the line; T >= 1, X >= 2.
    diffusion : float, optional, default: 4.0
        Diffusion coefficient in µm²/s, > 0.
    {pixel_size}
    line_time : float, optional, default: 0.001
        Time from one scan of the line to the next in s, > 0.
    pixel_time : float, optional
        Dwell per position in s, > 0, at most ``line_time / X``;
        position ``x`` of scan ``t`` is sampled at ``t * line_time + x
        * pixel_time``. None (default) is ``line_time / X``.
    {psf_radius}
    {density}
    brightness : float, optional, default: 50.0
        Mean photons of a particle at the spot's centre per pixel
        dwell, >= 0.
    background : float, optional, default: 2.0
        Mean photons per position and scan, >= 0.
    offset : float, optional, default: 0.0
        Counts added to every sample after the Poisson noise.
    barrier : float, optional
        Position of a straight wall across the line (perpendicular to
        it), in µm from the start of position 0. None (default):
        free diffusion.
    crossing : float, optional, default: 0.0
        Probability in [0, 1] that a step across the barrier is taken
        (0: impermeable).
    {seed}
    {dtype}
    {progress}

    Returns
    -------
    Simulation
        ``data`` (T, X) and the ground ``truth``: the parameters,
        ``line_time``, ``pixel_time``, and the ``geometry`` (the barrier
        in µm and pixels, and the crossing probability).

    {raises}

    Notes
    -----
    Particles move in a square ``X + 2 m`` pixels wide (``m`` the PSF
    window, as in :func:`free`) centred on the line, one Brownian step
    per line time, periodic for free diffusion and with reflecting
    sides around a barrier, whose steps across are rejected (or taken
    with probability `crossing`). Within a line a particle's position
    is interpolated linearly between the start of this scan and the
    next. Position ``x`` sees ``brightness * exp(-2 r² / w²)`` photons
    of a particle at distance ``r`` from the spot's centre at the
    middle of pixel ``x`` on the line (a point sample: the spot does
    not average over the pixel), plus the background, drawn from a
    Poisson distribution.

    Examples
    --------
    >>> sim = line_scan(shape=(64, 32), barrier=1.6, seed=0)
    >>> sim.data.shape, sim.truth['geometry']['barrier_px']
    ((64, 32), 16.0)

    """
    arguments = dict(locals())
    items = _pair_shape(shape)
    nscans, width = items
    params = check_parameters(
        {**arguments, 'shape': (nscans, 1, width)},
        frame_time=line_time,
        fraction=None,
    )
    if isinstance(params.diffusion, tuple):
        msg = f'{diffusion=!r}: line_scan takes one diffusion coefficient'
        raise ValueError(msg)
    if pixel_time is None:
        pixel_time = params.frame_time / width
    pixel_time = check_positive(pixel_time, 'pixel_time')
    if pixel_time * width > params.frame_time * (1 + 1e-12):
        msg = (
            f'{pixel_time=} s times {width} positions exceeds '
            f'line_time={params.frame_time} s'
        )
        raise ValueError(msg)
    crossing = check_real(crossing, 'crossing', minimum=0.0, maximum=1.0)
    if barrier is not None:
        barrier = check_real(barrier, 'barrier')
    progress = check_bool(progress, 'progress')
    return _run_line(
        params,
        items,
        pixel_time=pixel_time,
        barrier=barrier,
        crossing=crossing,
        progress=progress,
    )


def _add_spots(
    mean: numpy.ndarray,
    line: numpy.ndarray,
    begin: numpy.ndarray,
    delta: numpy.ndarray,
    *,
    fraction: numpy.ndarray,
    reach: int,
    width: float,
    brightness: float,
) -> None:
    """Add the photons of particles to the positions near them.

    Particle ``k`` starts scan ``line[k]`` at ``begin[k]`` and moves by
    ``delta[k]`` (pixels) until the next; position ``x`` sees it at
    ``begin + fraction[x] * delta``. Only the ``2 * reach + 1``
    positions around its start are rendered.

    """
    nlines, npos = mean.shape
    columns = numpy.floor(begin[:, :1]).astype(numpy.intp) + numpy.arange(
        -reach, reach + 1
    )
    inside = (columns >= 0) & (columns < npos)
    columns = numpy.clip(columns, 0, npos - 1)
    step = fraction[columns]
    x = begin[:, :1] + step * delta[:, :1] - (columns + 0.5)
    y = begin[:, 1:] + step * delta[:, 1:]
    spots = brightness * numpy.exp(-2.0 * (x * x + y * y) / (width * width))
    spots *= inside
    flat = line[:, None] * npos + columns
    mean += numpy.bincount(
        flat.ravel(), weights=spots.ravel(), minlength=nlines * npos
    ).reshape(nlines, npos)


def _pair_shape(shape: Any) -> tuple[int, int]:
    """Return (T, X) of a line scan's shape or raise."""
    try:
        items = tuple(shape)
    except TypeError:
        items = None
    if items is None or isinstance(shape, str) or len(items) != 2:
        msg = f'{shape=!r} is not 2 integers (scans, positions)'
        raise (TypeError if items is None else ValueError)(msg)
    nscans = check_int(items[0], 'shape[0]', minimum=1)
    width = check_int(items[1], 'shape[1]', minimum=2)
    return nscans, width


def _run_line(
    params: Parameters,
    shape: tuple[int, int],
    *,
    pixel_time: float,
    barrier: float | None,
    crossing: float,
    progress: bool,
) -> Simulation:
    """Return the line-scan simulation of checked parameters."""
    from .. import __version__

    nscans, width = shape
    px = params.pixel_size
    margin = params.half + 1
    lower = (-margin, -width / 2 - margin)
    upper = (width + margin, width / 2 + margin)
    place, walk, noise, cross = random_streams(params.seed, 4)
    geometry: dict[str, Any] = {
        'coordinates': (
            'x along the line from the start of position 0, y across it; '
            'position x samples (x + 0.5, 0) pixels'
        ),
        'domain': [float(v * px) for v in (*lower, *upper)],
        'domain_px': [float(v) for v in (*lower, *upper)],
    }
    domain: Any
    if barrier is None:
        domain = Periodic(lower, upper)
        geometry['boundary'] = 'periodic'
    else:
        wall = barrier / px
        domain = _Wall(
            lower,
            upper,
            wall='line',
            centre=(wall, 0.0),
            angle=math.pi / 2,
            crossing=crossing,
            rng=cross,
        )
        geometry.update(
            boundary='reflecting: steps out of the rectangle are rejected',
            barrier=barrier,
            barrier_px=wall,
            crossing=crossing,
            wall='straight, perpendicular to the line',
        )
    area = (upper[0] - lower[0]) * (upper[1] - lower[1])
    count = round(params.density * area * px * px)
    positions = domain.sample(count, place)
    steps = tracks(
        domain, positions, nscans, sigma=params.sigma, rng=walk, chunk=_CHUNK
    )
    width_px = params.width
    # spots are cut beyond 2 w (exp(-8) of the peak), as in the images;
    # a particle moves by a few sigma within a line
    moves = 3.0 * params.sigma
    window = 2.0 * params.width + moves
    fraction = numpy.arange(width) * (pixel_time / params.frame_time)
    # columns a spot reaches: its window and a few steps within a line
    reach = math.ceil(2.0 * params.width + moves) + 1
    period = numpy.array(upper) - numpy.array(lower)
    data = numpy.empty(shape, dtype=params.dtype)
    start = positions
    with progress_bar(
        nscans, enable=progress, desc='simulate line scan', unit='line'
    ) as bar:
        t0 = 0
        for track in steps:
            begin = numpy.concatenate([start[None], track[:-1]])
            delta = track - begin
            if barrier is None:  # a wrapped step is a short one
                delta -= period * numpy.round(delta / period)
            mean = numpy.full((len(track), width), params.background)
            # particles near the line at the start of a scan (the window
            # exceeds any step that matters)
            line, particle = numpy.nonzero(numpy.abs(begin[..., 1]) < window)
            if line.size:
                _add_spots(
                    mean,
                    line,
                    begin[line, particle],
                    delta[line, particle],
                    fraction=fraction,
                    reach=reach,
                    width=width_px,
                    brightness=params.brightness,
                )
            data[t0 : t0 + len(track)] = counts(
                noise.poisson(mean), params.offset, params.dtype
            )
            start = track[-1]
            t0 += len(track)
            bar.update(len(track))
    truth = {
        'kind': 'line_scan',
        'shape': [nscans, width],
        'dtype': params.dtype.name,
        'diffusion': params.diffusion,
        'pixel_size': px,
        'line_time': params.frame_time,
        'pixel_time': pixel_time,
        'psf_radius': params.psf_radius,
        'density': params.density,
        'brightness': params.brightness,
        'background': params.background,
        'offset': params.offset,
        'seed': params.seed,
        'particles': count,
        'geometry': geometry,
        'units': dict(LINE_UNITS),
        'package': f'ipcf {__version__}',
    }
    return Simulation(data=data, truth=truth)


@document
def detector_array(
    *,
    frames: int = 65536,
    positions: ArrayLike | str = 'airyscan32',
    pitch: float = 0.05,
    diffusion: float = 10.0,
    sample_time: float = 1e-5,
    psf_radius: float = 0.2,
    density: float = 5.0,
    brightness: float = 1.0,
    background: float = 0.0,
    seed: int | None = None,
    dtype: DTypeLike = 'uint16',
    progress: bool = False,
) -> Simulation:
    """Return photon counts (T, ndet) of one spot seen by a detector array.

    Parameters
    ----------
    frames : int, optional, default: 65536
        Samples T, >= 1.
    positions : array_like, shape (ndet, 2), or str, optional
        Centres ``(x, y)`` of the detection volumes in the sample, µm,
        or a preset of :func:`ipcf.detectors.detector_positions`
        (default ``'airyscan32'``), spaced `pitch`.
    pitch : float, optional, default: 0.05
        Spacing of a preset's volumes in µm, > 0; ignored for arrays.
    diffusion : float, optional, default: 10.0
        Diffusion coefficient in µm²/s, > 0.
    sample_time : float, optional, default: 1e-05
        Time per sample in s, > 0.
    psf_radius : float, optional, default: 0.2
        1/e² radius of every detection volume in µm, > 0.
    {density}
    brightness : float, optional, default: 1.0
        Mean photons per sample of a particle at a volume's centre, >= 0.
    background : float, optional, default: 0.0
        Mean photons per detector and sample, >= 0.
    {seed}
    {dtype}
    {progress}

    Returns
    -------
    Simulation
        ``data`` (T, ndet) photon counts and the ground ``truth``
        (``positions`` in µm among the parameters).

    {raises}

    Notes
    -----
    Particles diffuse in a periodic rectangle around the array, larger
    than it on every side by ``max(2 µm, min(20 w, sqrt(D T) / 2))``
    with ``T = frames * sample_time``, one Brownian step per sample; the
    particle count is ``density`` times its area. A box much narrower
    than the distance diffused in the record cuts the long-delay tail of
    the correlations and biases a fitted D up (by about 3-4 % with a
    2 µm margin at D T = 30-130 µm², under 1 % with 4 µm).

    Detector ``k`` counts Poisson photons of mean ``background +
    brightness * sum exp(-2 |p_k - r|² / w²)`` over the particles at
    ``r`` at the sample's instant.

    Examples
    --------
    >>> sim = detector_array(frames=64, seed=0)
    >>> sim.data.shape, sim.truth['kind']
    ((64, 32), 'detector_array')

    """
    from ..detectors import detector_positions

    arguments = dict(locals())
    frames = check_int(frames, 'frames', minimum=1)
    params = check_parameters(
        {**arguments, 'shape': (frames, 1, 1)},
        frame_time=sample_time,
        pixel_size=1.0,  # positions in µm
        offset=0.0,
        fraction=None,
    )
    if isinstance(params.diffusion, tuple):
        msg = f'{diffusion=!r}: detector_array takes one coefficient'
        raise ValueError(msg)
    if isinstance(positions, str):
        preset = positions
        centres = detector_positions(preset, pitch=pitch)
    else:
        preset = ''
        centres = numpy.asarray(positions, dtype=numpy.float64)
        if centres.ndim != 2 or centres.shape[1] != 2 or not len(centres):
            msg = f'positions.shape={centres.shape} is not (ndet, 2)'
            raise ValueError(msg)
        if not numpy.isfinite(centres).all():
            msg = 'positions hold NaN or infinite values'
            raise ValueError(msg)
    progress = check_bool(progress, 'progress')
    return _run_array(params, centres, preset=preset, progress=progress)


def _run_array(
    params: Parameters,
    centres: numpy.ndarray,
    *,
    preset: str,
    progress: bool,
) -> Simulation:
    """Return the detector-array simulation of checked parameters."""
    from .. import __version__

    nframes = params.shape[0]
    w = params.psf_radius
    # a box narrower than the distance travelled in the record cuts the
    # long-delay tail of the correlations, which biases the fitted D up
    record = nframes * params.frame_time
    margin = max(
        2.0, min(20.0 * w, 0.5 * math.sqrt(params.diffusion * record))
    )
    lower = tuple(centres.min(axis=0) - margin)
    upper = tuple(centres.max(axis=0) + margin)
    domain = Periodic(lower, upper)
    place, walk, noise = random_streams(params.seed, 3)
    count = round(params.density * domain.area)
    positions = domain.sample(count, place)
    steps = tracks(
        domain, positions, nframes, sigma=params.sigma, rng=walk, chunk=512
    )
    middle = centres.mean(axis=0)
    # spots are cut beyond 3 w (exp(-18) of the peak)
    reach = 3.0 * w + float(numpy.hypot(*(centres - middle).T).max())
    ndet = len(centres)
    data = numpy.empty((nframes, ndet), dtype=params.dtype)
    with progress_bar(
        nframes, enable=progress, desc='simulate detector array', unit='sample'
    ) as bar:
        t0 = 0
        for track in steps:
            # only particles near the array add photons
            dx = track[..., 0] - middle[0]
            dy = track[..., 1] - middle[1]
            frame, particle = numpy.nonzero(dx * dx + dy * dy < reach * reach)
            where = track[frame, particle]
            ex = where[:, :1] - centres[:, 0]
            ey = where[:, 1:] - centres[:, 1]
            spots = numpy.exp((ex * ex + ey * ey) * (-2.0 / (w * w)))
            flat = frame[:, None] * ndet + numpy.arange(ndet)
            mean = numpy.bincount(
                flat.ravel(),
                weights=spots.ravel(),
                minlength=len(track) * ndet,
            ).reshape(len(track), ndet)
            mean *= params.brightness
            mean += params.background
            data[t0 : t0 + len(track)] = counts(
                noise.poisson(mean), 0.0, params.dtype
            )
            t0 += len(track)
            bar.update(len(track))
    truth = {
        'kind': 'detector_array',
        'shape': [nframes, len(centres)],
        'dtype': params.dtype.name,
        'diffusion': params.diffusion,
        'preset': preset,
        'pitch': float(numpy.min(_spacing(centres)))
        if len(centres) > 1
        else 0,
        'positions': centres.tolist(),
        'sample_time': params.frame_time,
        'psf_radius': w,
        'density': params.density,
        'brightness': params.brightness,
        'background': params.background,
        'seed': params.seed,
        'particles': count,
        'geometry': {
            'boundary': 'periodic',
            'domain': [float(v) for v in (*lower, *upper)],
        },
        'units': dict(ARRAY_UNITS),
        'package': f'ipcf {__version__}',
    }
    return Simulation(data=data, truth=truth)


def _spacing(centres: numpy.ndarray) -> numpy.ndarray:
    """Return each centre's distance to its nearest other centre."""
    delta = centres[:, None] - centres[None]
    distance = numpy.hypot(delta[..., 0], delta[..., 1])
    distance[numpy.diag_indices(len(centres))] = numpy.inf
    return distance.min(axis=1)
