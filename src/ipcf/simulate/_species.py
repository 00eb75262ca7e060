"""Two channels: species A and B, free or bound, and their frame loop.

:func:`run_two_species` places free A, A–B complexes and free B in a
periodic field, moves them all with the same diffusion coefficient and
renders A and the complexes in channel 1, B and the complexes in
channel 2, with an optional share of A's light in channel 2.

"""

from __future__ import annotations

from typing import Any

import numpy

from .._utils import progress_bar
from ._motion import CHUNK_FRAMES, tracks
from ._optics import counts, render
from ._parameters import Parameters
from ._simulation import UNITS, Simulation

__all__ = ['run_two_species', 'species_counts']

# frames rendered at once: two float64 buffers of about 16 MiB
_CHUNK_PIXELS = 2**21


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
    place, walk, noise = (
        numpy.random.default_rng(child)
        for child in numpy.random.SeedSequence(params.seed).spawn(3)
    )
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
