"""Confined, hop, anomalous and partly immobile diffusion: iMSD truth.

:func:`confined` moves particles in a periodic field tiled by square
compartments whose walls a step crosses with a given probability
(0: confinement; between 0 and 1: hop diffusion through a meshwork).
:func:`anomalous` moves them by fractional Brownian motion, whose mean
square displacement grows as ``tau**alpha`` at every delay.
:func:`immobile` is free diffusion with a fraction of particles that do
not move. All reuse the periodic field, rendering and frame loop of the
other image simulations (:func:`ipcf.simulate._simulation.run`); only
the domain differs.

"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy
from numpy.typing import DTypeLike

from .._validate import check_bool, check_positive, check_real
from ._domains import COORDINATES, Periodic
from ._motion import random_streams
from ._parameters import (
    Parameters,
    check_bleach_time,
    check_parameters,
    document,
)
from ._simulation import Simulation, run

__all__ = [
    'Compartments',
    'Fractional',
    'Frozen',
    'anomalous',
    'confined',
    'fractional_noise',
    'immobile',
]


class Compartments(Periodic):
    """Periodic rectangle tiled by square compartments, in pixel units.

    The rectangle's sides are whole multiples of `side`, so that the
    compartments tile it across its periodic edges too. A step that
    would take a particle across ``n`` compartment walls is taken with
    probability ``hop**n``; otherwise the particle stays where it is for
    that frame. `rng` draws those decisions.

    """

    def __init__(
        self,
        lower: tuple[float, float],
        upper: tuple[float, float],
        *,
        side: float,
        hop: float,
        rng: numpy.random.Generator,
    ) -> None:
        super().__init__(lower, upper)
        self.side = float(side)
        self.hop = float(hop)
        self._rng = rng

    def cell(self, positions: numpy.ndarray) -> numpy.ndarray:
        """Return the compartment indices (..., 2) of unwrapped positions."""
        return numpy.floor((positions - self._lower) / self.side)

    def walk(
        self, positions: numpy.ndarray, steps: numpy.ndarray
    ) -> numpy.ndarray:
        """Return positions after each of steps (frames, n, 2)."""
        track = numpy.empty_like(steps)
        current = positions.copy()
        here = self.cell(current)
        for frame, step in enumerate(steps):
            proposal = current + step
            there = self.cell(proposal)
            walls = numpy.abs(there - here).sum(axis=-1)
            accept = walls == 0
            if self.hop > 0.0:
                crossing = ~accept
                chance = self.hop ** walls[crossing]
                accept[crossing] = self._rng.random(chance.size) < chance
            proposal -= self._lower
            numpy.mod(proposal, self._size, out=proposal)
            proposal += self._lower
            numpy.copyto(current, proposal, where=accept[:, None])
            here = self.cell(current)
            track[frame] = current
        return track


class Frozen:
    """A domain whose first `count` particles never move.

    Wraps another domain: their steps are set to zero before the domain
    applies its boundaries, and their positions are kept, so they stay
    where they were placed.

    """

    def __init__(self, domain: Any, count: int) -> None:
        self.domain = domain
        self.count = int(count)

    @property
    def area(self) -> float:
        """Area of the wrapped domain in square pixels."""
        return float(self.domain.area)

    def sample(self, count: int, rng: numpy.random.Generator) -> numpy.ndarray:
        """Return count uniform positions of the wrapped domain."""
        return self.domain.sample(count, rng)

    def walk(
        self, positions: numpy.ndarray, steps: numpy.ndarray
    ) -> numpy.ndarray:
        """Return positions after steps, the frozen particles unmoved."""
        steps = steps.copy()
        steps[:, : self.count] = 0.0
        track = self.domain.walk(positions, steps)
        # a domain that makes its own steps (Fractional) moves them too
        track[:, : self.count] = positions[: self.count]
        return track


def fractional_noise(
    nframes: int,
    count: int,
    alpha: float,
    rng: numpy.random.Generator,
) -> numpy.ndarray:
    """Return fractional Gaussian noise, shape (nframes, count, 2).

    Unit variance per frame and axis; the sum of ``k`` consecutive
    values has variance ``k**alpha`` (Hurst exponent ``alpha / 2``).
    Drawn exactly by circulant embedding (Davies and Harte 1987): the
    real and imaginary parts of one transform are two independent
    series, the x and y axes.

    >>> rng = numpy.random.default_rng(0)
    >>> noise = fractional_noise(64, 2000, 0.5, rng)
    >>> total = noise[:16].sum(axis=0)
    >>> round(float(total.var()) / 16**0.5, 1)
    1.0

    """
    k = numpy.arange(nframes + 1, dtype=numpy.float64)
    cov = 0.5 * (
        numpy.abs(k + 1) ** alpha - 2 * k**alpha + numpy.abs(k - 1) ** alpha
    )
    circulant = numpy.concatenate((cov, cov[-2:0:-1]))
    size = len(circulant)
    eigen = numpy.fft.fft(circulant).real
    # exact for 0 < alpha <= 2: the embedding is non-negative definite
    eigen = numpy.sqrt(numpy.clip(eigen, 0.0, None) / size)
    white = rng.standard_normal((2, count, size))
    spectrum = eigen * (white[0] + 1j * white[1])
    series = numpy.fft.fft(spectrum, axis=-1)[:, :nframes]
    return numpy.stack((series.real.T, series.imag.T), axis=-1)


class Fractional(Periodic):
    """Periodic rectangle whose particles move by fractional Brownian motion.

    :meth:`sample` also draws each particle's increments for all
    `nframes` (per axis ``scale`` pixels per frame, correlated so that
    the displacement over ``k`` frames has variance ``scale² *
    k**alpha``); :meth:`walk` ignores the values of the steps it is
    given and applies the next ones of these instead.

    """

    def __init__(
        self,
        lower: tuple[float, float],
        upper: tuple[float, float],
        *,
        nframes: int,
        alpha: float,
        scale: float,
        rng: numpy.random.Generator,
    ) -> None:
        super().__init__(lower, upper)
        self.nframes = int(nframes)
        self.alpha = float(alpha)
        self.scale = float(scale)
        self._rng = rng
        self._increments: numpy.ndarray | None = None
        self._frame = 0

    def sample(self, count: int, rng: numpy.random.Generator) -> numpy.ndarray:
        """Return count uniform positions; draw their increments."""
        noise = fractional_noise(self.nframes, count, self.alpha, self._rng)
        self._increments = noise * self.scale
        self._frame = 0
        return super().sample(count, rng)

    def walk(
        self, positions: numpy.ndarray, steps: numpy.ndarray
    ) -> numpy.ndarray:
        """Return positions after the next len(steps) increments."""
        assert self._increments is not None, 'sample() draws the increments'
        stop = self._frame + len(steps)
        own = self._increments[self._frame : stop]
        self._frame = stop
        return super().walk(positions, own)


# the domains here draw from random stream 3, which bleaches the
# particles of the other simulations; bleaching here draws from 4
_BLEACH_STREAM = 4


def _extra_rng(params: Parameters) -> numpy.random.Generator:
    """Return a generator independent of those of the frame loop."""
    # run() places, moves and draws photons from streams 0-2
    return random_streams(params.seed, 4)[3]


def _frozen_count(params: Parameters, area: float, fraction: float) -> int:
    """Return how many of the particles run() places are immobile."""
    count = round(params.density * area * params.pixel_size**2)
    return round(fraction * count)


@document
def confined(
    *,
    shape: Sequence[int] = (4096, 64, 64),
    compartment: float = 0.3,
    hop: float = 0.0,
    diffusion: float = 1.0,
    immobile: float = 0.0,
    pixel_size: float = 0.1,
    frame_time: float = 1e-3,
    psf_radius: float = 0.25,
    density: float = 5.0,
    brightness: float = 50.0,
    background: float = 2.0,
    offset: float = 100.0,
    bleach_time: float | None = None,
    seed: int | None = None,
    dtype: DTypeLike = 'uint16',
    progress: bool = False,
) -> Simulation:
    """Return an image series of particles confined in square domains.

    The periodic field of :func:`free` is tiled by squares of side
    `compartment`; particles diffuse freely within a square and cross
    each of its walls with probability `hop` per attempt. ``hop=0``
    confines them for good; ``0 < hop < 1`` is hop diffusion through a
    meshwork (as of the membrane skeleton): free at short delays,
    confined at intermediate ones, free again, slower, at long ones,
    which an anomalous fit sees as ``alpha < 1``.

    Parameters
    ----------
    {shape}
    compartment : float, optional, default: 0.3
        Side ``L`` of the square compartments in µm, > 0.
    hop : float, optional, default: 0.0
        Probability that a step crossing a wall is taken, in [0, 1];
        a step crossing ``n`` walls is taken with ``hop**n``.
    diffusion : float, optional, default: 1.0
        Diffusion coefficient within a compartment in µm²/s, > 0.
    immobile : float, optional, default: 0.0
        Fraction of the particles that do not move, in [0, 1].
    {pixel_size}
    {frame_time}
    {psf_radius}
    {density}
    {brightness}
    {background}
    {offset}
    {bleach_time}
    {seed}
    {dtype}
    {progress}

    Returns
    -------
    Simulation
        ``data`` of shape ``shape`` and the ground ``truth``, with
        ``compartment`` (µm), ``hop``, ``immobile``, ``tau_c`` (below)
        and the compartments' grid in ``geometry``.

    {raises}

    Notes
    -----
    A step is rejected rather than reflected at a wall, as in
    :func:`channel`: the proposals and the acceptance are symmetric, so
    the density stays uniform. The simulated rectangle's sides are the
    field plus the PSF window on every side, rounded up to whole
    compartments, with periodic boundaries.

    With ``hop=0`` a particle's 2-D mean square displacement rises as
    ``4 D tau`` and levels off at ``L² / 3`` (the variance of a uniform
    position in a square, ``L² / 12`` per axis, twice); the iMSD model
    ``L² / 3 (1 - exp(-tau / tau_c))`` with ``tau_c = L² / (12 D)``
    (``truth['tau_c']``) has that start and that plateau. A wall is a
    line of pixels at most: compartments smaller than the PSF are seen
    only through the iMSD.

    Examples
    --------
    >>> sim = confined(shape=(8, 16, 16), compartment=0.4, seed=0)
    >>> sim.truth['kind'], sim.truth['compartment'], sim.truth['hop']
    ('confined', 0.4, 0.0)
    >>> round(sim.truth['tau_c'], 6)
    0.013333

    """
    params = check_parameters(locals(), fraction=None)
    if isinstance(params.diffusion, tuple):
        msg = f'{diffusion=!r}: confined takes one diffusion coefficient'
        raise ValueError(msg)
    side_um = check_positive(compartment, 'compartment')
    hop = check_real(hop, 'hop', minimum=0.0, maximum=1.0)
    immobile = check_real(immobile, 'immobile', minimum=0.0, maximum=1.0)
    bleach_time = check_bleach_time(bleach_time)
    progress = check_bool(progress, 'progress')
    _, height, width = params.shape
    px = params.pixel_size
    side = side_um / px
    margin = params.half + 1
    ncols = math.ceil((width + 2 * margin) / side)
    nrows = math.ceil((height + 2 * margin) / side)
    lower = (-margin, -margin)
    upper = (-margin + ncols * side, -margin + nrows * side)
    domain: Any = Compartments(
        lower, upper, side=side, hop=hop, rng=_extra_rng(params)
    )
    frozen = _frozen_count(params, domain.area, immobile)
    if frozen:
        domain = Frozen(domain, frozen)
    geometry = {
        'coordinates': COORDINATES,
        'boundary': 'periodic; compartment walls crossed with probability hop',
        'domain': [float(v * px) for v in (*lower, *upper)],
        'domain_px': [float(v) for v in (*lower, *upper)],
        'compartment': side_um,
        'compartment_px': side,
        'grid_origin': [float(v * px) for v in lower],
        'grid': [nrows, ncols],
    }
    sim = run(
        'confined',
        params,
        domain,
        geometry,
        progress=progress,
        bleach_time=bleach_time,
        bleach_stream=_BLEACH_STREAM,
    )
    sim.truth.update(
        compartment=side_um,
        hop=hop,
        immobile=immobile,
        immobile_particles=frozen,
        tau_c=side_um**2 / (12.0 * float(params.diffusion)),
    )
    sim.truth['units'].update(compartment='um', tau_c='s')
    return sim


@document
def immobile(
    *,
    shape: Sequence[int] = (4096, 64, 64),
    fraction: float = 0.3,
    diffusion: float = 4.0,
    pixel_size: float = 0.1,
    frame_time: float = 1e-3,
    psf_radius: float = 0.25,
    density: float = 5.0,
    brightness: float = 50.0,
    background: float = 2.0,
    offset: float = 100.0,
    bleach_time: float | None = None,
    seed: int | None = None,
    dtype: DTypeLike = 'uint16',
    progress: bool = False,
) -> Simulation:
    """Return an image series of free diffusion with immobile particles.

    As :func:`free`, with a `fraction` of the particles (as bright as
    the others) fixed where they were placed: a static pattern under
    the moving one, whose spatial correlation does not decay with the
    delay.

    Parameters
    ----------
    {shape}
    fraction : float, optional, default: 0.3
        Fraction of the particles that do not move, in [0, 1].
    diffusion : float, optional, default: 4.0
        Diffusion coefficient of the mobile particles in µm²/s, > 0.
    {pixel_size}
    {frame_time}
    {psf_radius}
    {density}
    {brightness}
    {background}
    {offset}
    {bleach_time}
    {seed}
    {dtype}
    {progress}

    Returns
    -------
    Simulation
        ``data`` of shape ``shape`` and the ground ``truth``, with
        ``immobile`` (the fraction asked for) and ``immobile_particles``
        (how many were fixed, after rounding).

    {raises}

    Examples
    --------
    >>> sim = immobile(shape=(8, 16, 16), fraction=0.5, seed=0)
    >>> sim.truth['kind'], sim.truth['immobile']
    ('immobile', 0.5)
    >>> sim.truth['particles'], sim.truth['immobile_particles']
    (45, 22)

    """
    fraction = check_real(fraction, 'fraction', minimum=0.0, maximum=1.0)
    arguments = {**locals(), 'fraction': None}
    params = check_parameters(arguments)
    if isinstance(params.diffusion, tuple):
        msg = f'{diffusion=!r}: immobile takes one diffusion coefficient'
        raise ValueError(msg)
    bleach_time = check_bleach_time(bleach_time)
    progress = check_bool(progress, 'progress')
    from ._domains import periodic_field

    field, geometry = periodic_field(params)
    frozen = _frozen_count(params, field.area, fraction)
    domain = Frozen(field, frozen)
    sim = run(
        'immobile',
        params,
        domain,
        geometry,
        progress=progress,
        bleach_time=bleach_time,
        bleach_stream=_BLEACH_STREAM,
    )
    sim.truth.update(immobile=fraction, immobile_particles=frozen)
    return sim


@document
def anomalous(
    *,
    shape: Sequence[int] = (4096, 64, 64),
    alpha: float = 0.7,
    diffusion: float = 1.0,
    immobile: float = 0.0,
    pixel_size: float = 0.1,
    frame_time: float = 1e-3,
    psf_radius: float = 0.25,
    density: float = 5.0,
    brightness: float = 50.0,
    background: float = 2.0,
    offset: float = 100.0,
    bleach_time: float | None = None,
    seed: int | None = None,
    dtype: DTypeLike = 'uint16',
    progress: bool = False,
) -> Simulation:
    """Return an image series of particles in anomalous diffusion.

    Particles move by fractional Brownian motion in the periodic field
    of :func:`free`: each axis's displacement over a delay ``tau`` is
    Gaussian with variance ``2 D tau**alpha``, so the 2-D mean square
    displacement is ``4 D tau**alpha`` at every delay, the iMSD's
    anomalous model exactly. ``alpha < 1`` is subdiffusion (steps
    anticorrelated), ``alpha = 1`` free diffusion, ``alpha > 1``
    superdiffusion. (For hop diffusion through a meshwork, whose
    exponent changes with the delay, see :func:`confined`.)

    Parameters
    ----------
    {shape}
    alpha : float, optional, default: 0.7
        Anomalous exponent, > 0 and <= 2.
    diffusion : float, optional, default: 1.0
        Generalised diffusion coefficient ``D`` in µm²/s**alpha, > 0.
    immobile : float, optional, default: 0.0
        Fraction of the particles that do not move, in [0, 1].
    {pixel_size}
    {frame_time}
    {psf_radius}
    {density}
    {brightness}
    {background}
    {offset}
    {bleach_time}
    {seed}
    {dtype}
    {progress}

    Returns
    -------
    Simulation
        ``data`` of shape ``shape`` and the ground ``truth``, with
        ``alpha`` and ``diffusion`` in µm²/s**alpha.

    {raises}

    Notes
    -----
    The increments of every particle are drawn for the whole series at
    once by circulant embedding (exact for these exponents), ``frames x
    particles x 2`` float64 values: 18 MB for the default 4096 frames of
    280 particles.

    Examples
    --------
    >>> sim = anomalous(shape=(8, 16, 16), alpha=0.5, seed=0)
    >>> sim.truth['kind'], sim.truth['alpha'], sim.truth['units']['diffusion']
    ('anomalous', 0.5, 'um^2/s^alpha')

    """
    params = check_parameters(locals(), fraction=None)
    if isinstance(params.diffusion, tuple):
        msg = f'{diffusion=!r}: anomalous takes one diffusion coefficient'
        raise ValueError(msg)
    alpha = check_real(alpha, 'alpha', positive=True, maximum=2.0)
    immobile = check_real(immobile, 'immobile', minimum=0.0, maximum=1.0)
    bleach_time = check_bleach_time(bleach_time)
    progress = check_bool(progress, 'progress')
    from ._domains import periodic_field

    field, geometry = periodic_field(params)
    scale = (
        math.sqrt(2.0 * float(params.diffusion) * params.frame_time**alpha)
        / params.pixel_size
    )
    domain: Any = Fractional(
        field.lower,
        field.upper,
        nframes=params.shape[0],
        alpha=alpha,
        scale=scale,
        rng=_extra_rng(params),
    )
    frozen = _frozen_count(params, domain.area, immobile)
    if frozen:
        domain = Frozen(domain, frozen)
    geometry['boundary'] = 'periodic; fractional Brownian motion'
    sim = run(
        'anomalous',
        params,
        domain,
        geometry,
        progress=progress,
        bleach_time=bleach_time,
        bleach_stream=_BLEACH_STREAM,
    )
    sim.truth.update(alpha=alpha, immobile=immobile, immobile_particles=frozen)
    sim.truth['units'].update(diffusion='um^2/s^alpha')
    return sim
