"""Species: mixtures of brightness, immobile particles, bleaching, and A–B.

:func:`check_mixture` and :func:`run_mixture` give :func:`ipcf.simulate.free`
species of their own brightness (monomers and dimers), immobile
particles and photobleaching of single particles; the series without
any of them is made by :func:`ipcf.simulate._simulation.run`, whose
random streams these leave unchanged. :func:`species_truth` records per
species what was simulated, in the format that
:class:`~ipcf.simulate.Simulation` describes.

:func:`run_two_species` places free A, A–B complexes and free B in a
periodic field, moves them all with the same diffusion coefficient and
renders A and the complexes in channel 1, B and the complexes in
channel 2, with an optional share of A's light in channel 2. Both
render through :func:`ipcf.simulate._render.render_series`.

"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Sequence
from typing import Any

import numpy

from .._validate import check_real
from ._motion import populations
from ._parameters import Parameters, _items, check_bleach_time
from ._render import Layer, bleached_counts, place, render_series
from ._simulation import (
    Simulation,
    base_truth,
    bleach_truth,
    volume_truth,
)

__all__ = [
    'Mixture',
    'check_mixture',
    'run_mixture',
    'run_two_species',
    'species_counts',
    'species_truth',
]


@dataclasses.dataclass(frozen=True)
class Mixture:
    """Species options of :func:`ipcf.simulate.free`, checked.

    Attributes
    ----------
    brightness : tuple of float or None
        Photons per particle and frame of each species; None: the
        scalar brightness of the parameters for every population.
    immobile : float
        Fraction of the particles of every species that never move.
    bleach_time : float or None
        Mean time in s a particle emits before it bleaches; None: never.

    """

    brightness: tuple[float, ...] | None
    immobile: float
    bleach_time: float | None

    def values(self, params: Parameters, /) -> tuple[float, ...]:
        """Return the brightness of each species of params."""
        if self.brightness is not None:
            return self.brightness
        return (params.brightness,) * len(params.sigmas)


def check_mixture(
    *,
    diffusion: Any,
    brightness: Any,
    immobile: Any,
    bleach_time: Any,
) -> tuple[Mixture | None, Any, Any]:
    """Return the mixture and the diffusion and brightness to check.

    None instead of a mixture means one brightness, no immobile
    particles and no bleaching: the plain simulation. Several
    brightness values make as many species; a single `diffusion` is
    then that of all of them, returned repeated so that
    :func:`~ipcf.simulate._parameters.check_parameters` pairs each
    species with its fraction. The brightness returned stands in for
    the checked scalar of the parameters.

    >>> mixture, d, b = check_mixture(diffusion=4.0, brightness=(50, 100),
    ...                               immobile=0.0, bleach_time=None)
    >>> mixture.brightness, d, b
    ((50.0, 100.0), (4.0, 4.0), 50.0)
    >>> check_mixture(diffusion=4.0, brightness=50.0, immobile=0.0,
    ...               bleach_time=None)
    (None, 4.0, 50.0)

    """
    immobile = check_real(immobile, 'immobile', minimum=0.0, maximum=1.0)
    bleach_time = check_bleach_time(bleach_time)
    values: tuple[float, ...] | None = None
    if isinstance(brightness, str) or not isinstance(brightness, numbers.Real):
        items = _items(brightness)
        if not items:
            msg = f'{brightness=!r} is not a number or a sequence of numbers'
            raise TypeError(msg)
        values = tuple(
            check_real(value, f'brightness[{i}]', minimum=0.0)
            for i, value in enumerate(items)
        )
        brightness = values[0]
        if len(values) == 1:
            values = None
    if values is None:
        if immobile == 0.0 and bleach_time is None:
            return None, diffusion, brightness
        return Mixture(None, immobile, bleach_time), diffusion, brightness
    several = _items(diffusion)
    if several is None or len(several) == 1:
        single = diffusion if several is None else several[0]
        diffusion = (single,) * len(values)
    elif len(several) != len(values):
        msg = (
            f'{diffusion=!r} must be one value or one per brightness '
            f'({len(values)})'
        )
        raise ValueError(msg)
    return Mixture(values, immobile, bleach_time), diffusion, brightness


def species_truth(
    params: Parameters,
    domain: Any,
    counts_: Sequence[int],
    /,
    *,
    brightness: Sequence[float],
    names: Sequence[str] | None = None,
    diffusion: Sequence[float] | None = None,
    fraction: Sequence[float] | None = None,
    immobile: Sequence[int] | None = None,
    bleached: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Return the truth's ``concentration`` and ``species`` entries.

    One dict per species, in the order of `counts_`, with the keys
    :data:`SPECIES_KEYS` (see :class:`ipcf.simulate.Simulation`), plus
    ``immobile_particles`` and ``bleached`` where given. Names default
    to ``S1``, ``S2``...; diffusion and fraction to those of the
    parameters. Concentrations are the particles simulated over the
    simulated area (µm²), or volume (µm³) of a volume series, after
    rounding.

    """
    if params.volume:
        size = domain.volume * params.pixel_size**2 * params.pixel_size_z
    else:
        size = domain.area * params.pixel_size**2
    if names is None:
        names = [f'S{index + 1}' for index in range(len(counts_))]
    if diffusion is None:
        diffusion = (
            params.diffusion
            if isinstance(params.diffusion, tuple)
            else (params.diffusion,)
        )
    if fraction is None:
        fraction = params.fraction if params.fraction is not None else (1.0,)
    species = []
    for index, count in enumerate(counts_):
        entry = {
            'name': names[index],
            'diffusion': float(diffusion[index]),
            'brightness': float(brightness[index]),
            'fraction': float(fraction[index]),
            'particles': int(count),
            'concentration': count / size if size else 0.0,
        }
        if immobile is not None:
            entry['immobile_particles'] = int(immobile[index])
        if bleached is not None:
            entry['bleached'] = int(bleached[index])
        species.append(entry)
    total = sum(counts_)
    return {
        'concentration': total / size if size else 0.0,
        'species': species,
    }


def run_mixture(
    kind: str,
    params: Parameters,
    domain: Any,
    geometry: dict[str, Any],
    mixture: Mixture,
    /,
    *,
    progress: bool,
) -> Simulation:
    """Return the simulation of a mixture of species in domain.

    Particles go to species by index as :func:`populations` splits
    them; the first ``round(immobile * n)`` of the ``n`` of each species
    never move. Bleaching is that of :func:`ipcf.simulate._render.place`.
    Placing, steps and photon noise use the streams of the plain
    simulation; bleaching times a fourth one.

    """
    nframes, *frame = params.shape
    particles = place(params, domain, bleach_time=mixture.bleach_time)
    count = particles.count
    fraction = params.fraction if params.fraction is not None else (1.0,)
    shares, sigma = populations(fraction, params.sigmas, count)
    brightness = mixture.values(params)
    bounds = numpy.cumsum([0, *shares]).tolist()
    groups = [
        slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    fixed = [round(mixture.immobile * n) for n in shares]
    for group, n in zip(groups, fixed, strict=True):
        sigma[group.start : group.start + n] = 0.0
    bleached = None
    if particles.dark is not None:
        bleached = bleached_counts(particles, groups, nframes)
    # immobile and mobile particles of each species, rendered apart so
    # that the truth records the photons each adds to the field of view
    layers = []
    for group, n, value in zip(groups, fixed, brightness, strict=True):
        middle = group.start + n
        layers.append(Layer(slice(group.start, middle), value))
        layers.append(Layer(slice(middle, group.stop), value))
    data, photons = render_series(
        params,
        domain,
        particles,
        layers,
        sigma=sigma,
        measure=True,
        progress=progress,
        desc=f'simulate {kind}',
    )
    several = len(shares) > 1
    truth = base_truth(kind, params, count, geometry)
    truth['brightness'] = list(brightness) if several else brightness[0]
    truth['immobile'] = mixture.immobile
    truth['immobile_particles'] = int(sum(fixed))
    truth['bleach_time'] = mixture.bleach_time
    truth.update(
        species_truth(
            params,
            domain,
            shares,
            brightness=brightness,
            immobile=fixed,
            bleached=bleached,
        )
    )
    # mean photons per pixel and frame, before the photon noise
    size = int(numpy.prod(frame))
    signal = photons.reshape(-1, 2) / (nframes * size)
    for entry, (still, moving) in zip(truth['species'], signal, strict=True):
        entry['signal'] = float(still + moving)
        entry['immobile_signal'] = float(still)
    truth['signal'] = float(signal.sum())
    truth['immobile_signal'] = float(signal[:, 0].sum())
    if bleached is not None:
        truth['bleached'] = int(sum(bleached))
    volume_truth(params, truth)
    if several:
        truth['fraction'] = list(fraction)
        truth['populations'] = shares
    truth['units']['concentration'] = truth['units']['density']
    bleach_truth(truth, mixture.bleach_time, None)
    truth['units']['signal'] = 'photons/pixel/frame (mean over the series)'
    return Simulation(data=data, truth=truth)


def species_counts(particles: int, bound: float, /) -> dict[str, int]:
    """Return the free A, complexes and free B among particles of each.

    Each channel's species counts `particles` molecules, of which
    ``round(bound * particles)`` are bound in complexes.

    >>> species_counts(72, 0.2)
    {'A': 58, 'AB': 14, 'B': 58}

    """
    complexes = round(bound * particles)
    free = particles - complexes
    return {'A': free, 'AB': complexes, 'B': free}


def run_two_species(
    params: Parameters,
    domain: Any,
    geometry: dict[str, Any],
    /,
    *,
    bound: float,
    crosstalk: float,
    bleach_time: float | None = None,
    progress: bool,
) -> Simulation:
    """Return the two-channel simulation of A, B and A–B in domain.

    Particles are ordered free A, complexes, free B; channel 1 shows the
    first two groups, channel 2 the last two plus `crosstalk` times the
    brightness of the first two. A complex bleaches as one particle, in
    both channels at once.

    """
    nframes = params.shape[0]
    molecules = round(params.density * domain.area * params.pixel_size**2)
    species = species_counts(molecules, bound)
    first = species['A'] + species['AB']  # end of channel 1's particles
    start_b = species['A']  # start of channel 2's particles
    count = first + species['B']
    particles = place(params, domain, count=count, bleach_time=bleach_time)
    value = params.brightness
    layers = [
        Layer(slice(0, first), value, 0),
        Layer(slice(start_b, count), value, 1),
        Layer(slice(0, first), crosstalk * value, 1),
    ]
    data, _ = render_series(
        params,
        domain,
        particles,
        layers,
        sigma=params.sigma,
        channels=2,
        progress=progress,
        desc='simulate two_species',
    )
    groups = [slice(0, start_b), slice(start_b, first), slice(first, count)]
    bleached = None
    if particles.dark is not None:
        bleached = bleached_counts(particles, groups, nframes)
    complexes = species['AB'] / molecules if molecules else 0.0
    truth = base_truth('two_species', params, count, geometry)
    truth['shape'] = [nframes, 2, *params.shape[1:]]
    truth['channels'] = ['A', 'B']
    truth['bound'] = bound
    truth['crosstalk'] = crosstalk
    share = 2.0 - bound  # particles per molecule of a species
    entries = species_truth(
        params,
        domain,
        list(species.values()),
        brightness=(value,) * 3,
        names=list(species),
        diffusion=(params.diffusion,) * 3,
        fraction=((1.0 - bound) / share, bound / share, (1.0 - bound) / share),
        bleached=bleached,
    )
    for entry, seen in zip(
        entries['species'], ([1], [1, 2], [2]), strict=True
    ):
        entry['channels'] = seen
    truth.update(entries)
    truth['bound_simulated'] = complexes
    truth['cross_ratio'] = (complexes + crosstalk) / (1.0 + crosstalk)
    if bleach_time is not None:
        bleach_truth(truth, bleach_time, int(sum(bleached)))
    truth['units']['concentration'] = truth['units']['density']
    return Simulation(data=data, truth=truth)
