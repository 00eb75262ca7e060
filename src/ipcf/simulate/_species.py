"""Species: mixtures of brightness, immobile particles, bleaching, and A–B.

:func:`check_mixture` and :func:`run_mixture` give :func:`ipcf.simulate.free`
species of their own brightness (monomers and dimers), immobile
particles and photobleaching of single particles; the series without
any of them is made by :func:`ipcf.simulate._simulation.run`, whose
random streams these leave unchanged. :func:`species_truth` records per
species what was simulated.

:func:`run_two_species` places free A, A–B complexes and free B in a
periodic field, moves them all with the same diffusion coefficient and
renders A and the complexes in channel 1, B and the complexes in
channel 2, with an optional share of A's light in channel 2.

"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any

import numpy

from .._utils import progress_bar
from .._validate import check_positive, check_real
from ._motion import CHUNK_FRAMES, populations, random_streams, tracks
from ._optics import counts, render, render_volume
from ._parameters import Parameters, _items
from ._simulation import UNITS, UNITS_VOLUME, Simulation, place_particles

__all__ = [
    'Mixture',
    'check_mixture',
    'run_mixture',
    'run_two_species',
    'species_counts',
    'species_truth',
]

# frames rendered at once: two float64 buffers of about 16 MiB
_CHUNK_PIXELS = 2**21

# x of a bleached particle in pixels: far outside any frame, so the
# render kernels skip it
_DARK = -1e9


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
    if bleach_time is not None:
        bleach_time = check_positive(bleach_time, 'bleach_time')
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
    counts_: list[int],
    /,
    *,
    brightness: tuple[float, ...],
    immobile: list[int] | None = None,
    bleached: list[int] | None = None,
) -> dict[str, Any]:
    """Return the truth's ``concentration`` and ``species`` entries.

    Concentrations are the particles simulated over the simulated area
    (µm²), or volume (µm³) of a volume series, after rounding.

    """
    if params.volume:
        size = domain.volume * params.pixel_size**2 * params.pixel_size_z
    else:
        size = domain.area * params.pixel_size**2
    diffusion = (
        params.diffusion
        if isinstance(params.diffusion, tuple)
        else (params.diffusion,)
    )
    fraction = params.fraction if params.fraction is not None else (1.0,)
    species = []
    for index, count in enumerate(counts_):
        entry = {
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
    never move. Each particle bleaches at a time drawn from an
    exponential distribution of mean `bleach_time` and is dark in every
    frame from then on (frame ``t`` shows time ``t * frame_time``).
    Placing, steps and photon noise use the streams of the plain
    simulation; bleaching times a fourth one.

    """
    from .. import __version__

    nframes, *frame = params.shape
    place, walk, noise, fade = random_streams(params.seed, 4)
    count, aspect, positions = place_particles(params, domain, place)
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
    dark = None  # first dark frame of each particle
    bleached = None
    if mixture.bleach_time is not None:
        lifetime = fade.exponential(mixture.bleach_time, count)
        dark = numpy.ceil(lifetime / params.frame_time).astype(numpy.int64)
        bleached = [int((dark[g] < nframes).sum()) for g in groups]
    # immobile and mobile particles of each species, rendered apart so
    # that the truth records the photons each adds to the field of view
    parts = []
    for group, n, value in zip(groups, fixed, brightness, strict=True):
        middle = group.start + n
        parts.append((slice(group.start, middle), value))
        parts.append((slice(middle, group.stop), value))
    photons = numpy.zeros(len(parts))
    size = int(numpy.prod(frame))
    chunk = max(1, min(CHUNK_FRAMES, _CHUNK_PIXELS // size))
    data = numpy.empty(params.shape, dtype=params.dtype)
    buffer = numpy.empty((chunk, *frame))
    steps = tracks(
        domain,
        positions,
        nframes,
        sigma=sigma,
        rng=walk,
        chunk=chunk,
        aspect=aspect,
    )
    spot: dict[str, Any] = {'width': params.width, 'half': params.half}
    draw = render
    if params.volume:
        spot.update(width_z=params.width_z, half_z=params.half_z)
        draw = render_volume
    with progress_bar(
        nframes, enable=progress, desc=f'simulate {kind}', unit='frame'
    ) as bar:
        for start, track in zip(range(0, nframes, chunk), steps, strict=True):
            mean = buffer[: len(track)]
            mean.fill(params.background)
            for index, (part, value) in enumerate(parts):
                if value == 0.0 or part.stop == part.start:
                    continue
                # a copy: the generator continues from the track's end
                where = numpy.array(track[:, part], dtype=numpy.float64)
                if dark is not None:
                    frames = numpy.arange(start, start + len(track))
                    off = frames[:, None] >= dark[None, part]
                    where[..., 0][off] = _DARK
                before = mean.sum()
                draw(mean, where, brightness=value, **spot)
                photons[index] += mean.sum() - before
            data[start : start + len(track)] = counts(
                noise.poisson(mean), params.offset, params.dtype
            )
            bar.update(len(track))
    several = len(shares) > 1
    truth = {
        'kind': kind,
        'shape': list(params.shape),
        'dtype': params.dtype.name,
        'diffusion': (
            [float(v) for v in params.diffusion]
            if isinstance(params.diffusion, tuple)
            else params.diffusion
        ),
        'pixel_size': params.pixel_size,
        'frame_time': params.frame_time,
        'psf_radius': params.psf_radius,
        'density': params.density,
        'brightness': list(brightness) if several else brightness[0],
        'background': params.background,
        'offset': params.offset,
        'seed': params.seed,
        'particles': count,
        'geometry': geometry,
        'units': dict(UNITS),
        'package': f'ipcf {__version__}',
        'immobile': mixture.immobile,
        'immobile_particles': int(sum(fixed)),
        'bleach_time': mixture.bleach_time,
        **species_truth(
            params,
            domain,
            shares,
            brightness=brightness,
            immobile=fixed,
            bleached=bleached,
        ),
    }
    # mean photons per pixel and frame, before the photon noise
    signal = photons.reshape(-1, 2) / (nframes * size)
    for entry, (still, moving) in zip(truth['species'], signal, strict=True):
        entry['signal'] = float(still + moving)
        entry['immobile_signal'] = float(still)
    truth['signal'] = float(signal.sum())
    truth['immobile_signal'] = float(signal[:, 0].sum())
    if bleached is not None:
        truth['bleached'] = int(sum(bleached))
    if params.volume:
        truth['axes'] = 'TZYX'
        truth['pixel_size_z'] = params.pixel_size_z
        truth['psf_z'] = params.psf_z
        truth['units'] = dict(UNITS_VOLUME)
    if several:
        truth['fraction'] = list(fraction)
        truth['populations'] = shares
    truth['units'].update(
        concentration=truth['units']['density'],
        bleach_time='s (mean emitting time of a particle)',
        signal='photons/pixel/frame (mean over the series)',
    )
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
    progress: bool,
) -> Simulation:
    """Return the two-channel simulation of A, B and A–B in domain.

    Particles are ordered free A, complexes, free B; channel 1 shows the
    first two groups, channel 2 the last two plus `crosstalk` times the
    brightness of the first two.

    """
    from .. import __version__

    nframes, height, width = params.shape
    place, walk, noise = random_streams(params.seed, 3)
    molecules = round(params.density * domain.area * params.pixel_size**2)
    species = species_counts(molecules, bound)
    first = species['A'] + species['AB']  # end of channel 1's particles
    start_b = species['A']  # start of channel 2's particles
    count = first + species['B']
    positions = domain.sample(count, place)
    chunk = max(1, min(CHUNK_FRAMES, _CHUNK_PIXELS // (height * width)))
    data = numpy.empty((nframes, 2, height, width), dtype=params.dtype)
    buffer = numpy.empty((2, chunk, height, width))
    steps = tracks(
        domain, positions, nframes, sigma=params.sigma, rng=walk, chunk=chunk
    )
    spot = {'width': params.width, 'half': params.half}
    with progress_bar(
        nframes, enable=progress, desc='simulate two_species', unit='frame'
    ) as bar:
        for start, track in zip(range(0, nframes, chunk), steps, strict=True):
            stop = start + len(track)
            one, two = buffer[0, : len(track)], buffer[1, : len(track)]
            one.fill(params.background)
            two.fill(params.background)
            render(one, track[:, :first], brightness=params.brightness, **spot)
            render(
                two, track[:, start_b:], brightness=params.brightness, **spot
            )
            if crosstalk > 0.0:
                render(
                    two,
                    track[:, :first],
                    brightness=crosstalk * params.brightness,
                    **spot,
                )
            for index, mean in enumerate((one, two)):
                data[start:stop, index] = counts(
                    noise.poisson(mean), params.offset, params.dtype
                )
            bar.update(len(track))
    complexes = species['AB'] / molecules if molecules else 0.0
    truth = {
        'kind': 'two_species',
        'shape': [nframes, 2, height, width],
        'dtype': params.dtype.name,
        'channels': ['A', 'B'],
        'diffusion': params.diffusion,
        'bound': bound,
        'crosstalk': crosstalk,
        'pixel_size': params.pixel_size,
        'frame_time': params.frame_time,
        'psf_radius': params.psf_radius,
        'density': params.density,
        'brightness': params.brightness,
        'background': params.background,
        'offset': params.offset,
        'seed': params.seed,
        'particles': count,
        'species': species,
        'bound_simulated': complexes,
        'cross_ratio': (complexes + crosstalk) / (1.0 + crosstalk),
        'geometry': geometry,
        'units': dict(UNITS),
        'package': f'ipcf {__version__}',
    }
    return Simulation(data=data, truth=truth)
