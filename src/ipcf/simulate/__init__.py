"""Simulate fluorescence image series of diffusing particles.

Each function returns a :class:`Simulation`: the camera counts as an array
``(T, H, W)`` and the ground truth as a JSON-serializable dict, ready for
:meth:`Simulation.save`.

- :func:`free`: free diffusion, uniform density, no edges.
- :func:`channel`: diffusion in a cell crossed by a channel whose walls
  block diffusion, the stand-in for the tutorial's
  ``Simulation_Channel.bin``.

:func:`free` and :func:`channel` also simulate volume series ``(T, Z,
H, W)`` when given a 4-item `shape`: particles diffusing in 3-D seen
through a 3-D Gaussian PSF (see Volumes below).
- :func:`flow`: free diffusion plus a uniform drift velocity.
- :func:`barrier`: free diffusion cut by an impermeable wall, a straight
  line or a ring (e.g. a nucleus).
- :func:`two_species`: two channels of freely diffusing species A and
  B, a fraction of them bound in complexes seen in both, for the
  cross-channel pCF; its data are ``(T, 2, H, W)``.
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

Volumes: with ``shape=(T, Z, H, W)``, :func:`free` and :func:`channel`
move the particles in 3-D, the same Brownian steps along z, and plane
``k`` of a frame images the height ``z = (k + 0.5) * pixel_size_z``: a
particle at height ``z`` adds ``brightness * exp(-2 (z - z_k)² /
psf_z²)`` photons to it, spread over its pixels as above (the PSF is
integrated over each pixel laterally and sampled at the plane along z,
as an optical section is; it is truncated beyond ``ceil(2 psf_z /
pixel_size_z) + 1`` planes, losing less than 1e-4 of the photons). All
planes of a frame show the same instant. ``density`` is then per µm³,
``pixel_size_z`` is the plane spacing and ``psf_z`` the axial 1/e²
radius (by default twice ``pixel_size`` and ``psf_radius``).

The same ``seed`` and arguments give the same data bit for bit.

"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence
from numbers import Real

from numpy.typing import DTypeLike

from .._utils import number_threads
from .._validate import (
    check_bool,
    check_choice,
    check_int,
    check_positive,
    check_real,
    check_string,
)
from . import _domains, _species, _spim
from ._parameters import (
    check_bleach_time,
    check_pair,
    check_parameters,
    check_triple,
    check_vector,
    document,
)
from ._simulation import Simulation, run

__all__ = [
    'Simulation',
    'barrier',
    'channel',
    'flow',
    'free',
    'spim',
    'two_species',
]


@document
def free(
    *,
    shape: Sequence[int] = (4096, 64, 64),
    diffusion: float | Sequence[float] = 4.0,
    fraction: float | Sequence[float] | None = None,
    pixel_size: float = 0.1,
    pixel_size_z: float | None = None,
    frame_time: float = 1e-3,
    psf_radius: float = 0.25,
    psf_z: float | None = None,
    density: float = 5.0,
    brightness: float | Sequence[float] = 50.0,
    immobile: float = 0.0,
    bleach_time: float | None = None,
    background: float = 2.0,
    offset: float = 100.0,
    seed: int | None = None,
    dtype: DTypeLike = 'uint16',
    progress: bool = False,
) -> Simulation:
    """Return an image or volume series of particles diffusing freely.

    Particles move in a rectangle larger than the field of view by the
    PSF window on every side, with periodic boundaries, so the density is
    uniform and the field has no edges. A volume series (4-item `shape`)
    has them move in a box larger than the volume by the PSF window
    along x, y and z, periodic along all three.

    Parameters
    ----------
    shape : tuple of 3 or 4 int, optional, default: (4096, 64, 64)
        Frames, height and width, each at least 1; or frames, depth
        (planes), height and width for a volume series.
    diffusion : float or sequence of float, optional, default: 4.0
        Diffusion coefficient in µm²/s, > 0. Several values simulate as
        many populations (species) of particles; with several
        `brightness` values, one value is that of every species.
    fraction : float or sequence of float, optional
        Fraction of the particles in each species, >= 0, summing to 1;
        one number is the fraction of the first of two. None (default)
        gives every species the same share. Only with several
        `diffusion` or `brightness` values.
    {pixel_size}
    {pixel_size_z}
    {frame_time}
    {psf_radius}
    {psf_z}
    density : float, optional, default: 5.0
        Particles per µm² (per µm³ for volumes), >= 0, of all species
        together. The number of particles is the density times the
        simulated area (volume), rounded.
    brightness : float or sequence of float, optional, default: 50.0
        Mean photons per particle and frame, >= 0. Several values
        simulate as many species, e.g. ``(50, 100)`` for monomers and
        dimers, with their `fraction` of the particles.
    immobile : float, optional, default: 0.0
        Fraction of the particles of every species that never move, in
        [0, 1]; they stay where they were placed.
    {bleach_time}
    {background}
    {offset}
    {seed}
    {dtype}
    {progress}

    Returns
    -------
    Simulation
        ``data`` of shape ``shape`` and the ground ``truth``. Besides
        the parameters it holds ``concentration``, the particles
        simulated per µm² (µm³) after rounding, and ``species``, one
        dict per species (named ``S1``, ``S2``... in the order of the
        values given; see :class:`Simulation`); with `immobile` or
        `bleach_time` also ``immobile_particles`` and ``bleached`` (dark
        by the last frame), per species and in all, and ``signal``.

    {raises}

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
    ``truth['populations']`` holds the counts. Species of several
    brightness values are split alike; in a pixel that sees them all,
    number and brightness analysis (:func:`ipcf.number_brightness`)
    measures the weighted brightness ``sum f_i e_i² / sum f_i e_i``.
    Immobile particles add a static pattern: to the mean of a pixel but
    not to its variance, so the brightness measured is that of the
    mobile ones times their share of the intensity. Bleaching times are
    drawn from a stream of their own, so the same seed gives the same
    positions and steps with and without bleaching.

    Of a volume the mean is ``offset + background + density *
    pixel_size**2 * brightness * psf_z * sqrt(pi / 2)`` (103.57 with the
    defaults), and the pair correlation between voxels ``(dx, dy, dz)``
    apart (µm) is, up to a constant (see :func:`ipcf.analysis.pcf_model`)::

        (1 + 4 D tau / w²)**-1 (1 + 4 D tau / w_z²)**-1/2
            * exp(-(dx² + dy²) / (w² + 4 D tau)) exp(-dz² / (w_z² + 4 D tau))

    with ``w = psf_radius`` (``w² + pixel_size² / 3`` for the pixels'
    integration) and ``w_z = psf_z``.

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

    Monomers and dimers, half of the particles each, 30 % of them immobile:

    >>> sim = free(shape=(8, 16, 16), brightness=(50, 100), fraction=0.5,
    ...            immobile=0.3, seed=0)
    >>> [s['brightness'] for s in sim.truth['species']]
    [50.0, 100.0]
    >>> sim.truth['particles'], sim.truth['immobile_particles']
    (45, 14)

    A volume series of 6 planes 0.2 µm apart:

    >>> sim = free(shape=(8, 6, 16, 16), pixel_size_z=0.2, psf_z=0.6, seed=0)
    >>> sim.data.shape, sim.truth['axes'], sim.truth['psf_z']
    ((8, 6, 16, 16), 'TZYX', 0.6)

    """
    arguments = dict(locals())
    mixture, arguments['diffusion'], arguments['brightness'] = (
        _species.check_mixture(
            diffusion=diffusion,
            brightness=brightness,
            immobile=immobile,
            bleach_time=bleach_time,
        )
    )
    params = check_parameters(arguments, volume=True)
    progress = check_bool(progress, 'progress')
    domain, geometry = _domains.periodic_field(params)
    if mixture is not None:
        return _species.run_mixture(
            'free', params, domain, geometry, mixture, progress=progress
        )
    # the plain series: the same data as before species existed
    sim = run('free', params, domain, geometry, progress=progress)
    shares = sim.truth.get('populations', [sim.truth['particles']])
    sim.truth.update(
        _species.species_truth(
            params,
            domain,
            shares,
            brightness=(params.brightness,) * len(shares),
        )
    )
    sim.truth['units']['concentration'] = sim.truth['units']['density']
    return sim


@document
def channel(
    *,
    shape: Sequence[int] = (32000, 64, 64),
    diffusion: float | Sequence[float] = 4.0,
    fraction: float | Sequence[float] | None = None,
    pixel_size: float = 0.1,
    pixel_size_z: float | None = None,
    frame_time: float = 1e-3,
    psf_radius: float = 0.25,
    psf_z: float | None = None,
    density: float = 5.0,
    brightness: float = 50.0,
    background: float = 2.0,
    offset: float = 100.0,
    bleach_time: float | None = None,
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
    cell there is background only; `density` is that inside the cell,
    the same in every compartment.

    This is the stand-in for the tutorial's ``Simulation_Channel.bin``
    (64x64 pixels, 32,000 uint16 frames).

    A volume series (4-item `shape`) is the same in 3-D: the cell is an
    ellipsoid centred in the volume and the channel a tube (a cylinder
    of diameter `channel_width`) whose axis runs through the cell's
    centre in the middle plane, at `channel_angle`; it ends at the
    cell's surface on both sides. Two compartments: the tube and the
    rest of the cell around it.

    Parameters
    ----------
    shape : tuple of 3 or 4 int, optional, default: (32000, 64, 64)
        Frames, height and width, each at least 1; or frames, depth
        (planes), height and width for a volume series.
    {diffusion}
    {fraction}
    {pixel_size}
    {pixel_size_z}
    {frame_time}
    {psf_radius}
    {psf_z}
    density : float, optional, default: 5.0
        Particles per µm² (per µm³ for volumes) inside the cell, >= 0.
        The number of particles is the density times the cell's area
        (volume), rounded.
    {brightness}
    {background}
    {offset}
    {bleach_time}
    channel_width : float, optional, default: 0.8
        Width of the channel in µm, > 0; the tube's diameter in a
        volume.
    channel_angle : float, optional, default: 0.0
        Direction of the channel in degrees from the x (column) axis
        toward the y (row) axis: 0 runs along the rows, 90 along the
        columns.
    cell : float or sequence of float, optional
        Semi-axes of the elliptic cell along x and y in µm, > 0; one
        number gives a circle. None (default) fills most of the field:
        ``(0.45 * width, 0.38 * height) * pixel_size``. For a volume,
        one number (a sphere) or three, along x, y and z; None is
        ``(0.45 * width * pixel_size, 0.38 * height * pixel_size, 0.45 *
        depth * pixel_size_z)``.
    {seed}
    {dtype}
    {progress}

    Returns
    -------
    Simulation
        ``data`` of shape ``shape`` and the ground ``truth``, whose
        ``geometry`` holds the cell's and the channel's centre, size and
        angle in µm and pixels.

    {raises}

    Notes
    -----
    Walls are reflecting by rejection: a step that would end in another
    compartment or outside the cell is not taken, and the particle stays
    where it is for that frame. The proposed steps are symmetric, so the
    density stays uniform in every compartment (the rule is a Metropolis
    walk with a uniform target). The compartments are convex, so a step
    whose end lies in the particle's own compartment never crosses a wall
    on its way.
    In a volume the cell around the tube is not convex: a step between
    two of its points that passes through the tube is rejected too.

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
    >>> sim = channel(shape=(8, 8, 32, 32), seed=0)
    >>> sim.data.shape, sim.truth['geometry']['channel']['shape']
    ((8, 8, 32, 32), 'tube')

    """
    params = check_parameters(locals(), volume=True)
    bleach_time = check_bleach_time(bleach_time)
    channel_width = check_positive(channel_width, 'channel_width')
    channel_angle = check_real(channel_angle, 'channel_angle')
    progress = check_bool(progress, 'progress')
    if params.volume:
        _, depth, height, width = params.shape
        px, pz = params.pixel_size, params.pixel_size_z
        if cell is None:
            semi_3d = (
                0.45 * width * px,
                0.38 * height * px,
                0.45 * depth * pz,
            )
        else:
            semi_3d = check_triple(cell, 'cell')
        tube, geometry = _domains.cell_tube(
            params, semi_axes=semi_3d, width=channel_width, angle=channel_angle
        )
        return run(
            'channel',
            params,
            tube,
            geometry,
            progress=progress,
            bleach_time=bleach_time,
        )
    if cell is None:
        _, height, width = params.shape
        px = params.pixel_size
        semi_axes = (0.45 * width * px, 0.38 * height * px)
    else:
        semi_axes = check_pair(cell, 'cell')
    domain, geometry = _domains.cell_channel(
        params, semi_axes=semi_axes, width=channel_width, angle=channel_angle
    )
    return run(
        'channel',
        params,
        domain,
        geometry,
        progress=progress,
        bleach_time=bleach_time,
    )


@document
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
    bleach_time: float | None = None,
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
    {shape}
    velocity : (float, float), optional, default: (50.0, 0.0)
        Drift velocity ``(vx, vy)`` in µm/s: ``vx`` along x (columns),
        ``vy`` along y (rows, downward in an image display).
    {diffusion}
    {fraction}
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
        ``velocity`` in µm/s.

    {raises}

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
    params = check_parameters(locals())
    velocity = check_vector(velocity, 'velocity')
    bleach_time = check_bleach_time(bleach_time)
    progress = check_bool(progress, 'progress')
    domain, geometry = _domains.periodic_field(params)
    return run(
        'flow',
        params,
        domain,
        geometry,
        progress=progress,
        velocity=velocity,
        bleach_time=bleach_time,
    )


@document
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
    bleach_time: float | None = None,
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
    {shape}
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
    {diffusion}
    {fraction}
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
        ``data`` of shape ``shape`` and the ground ``truth``, whose
        ``geometry`` holds the wall in µm and pixels.

    {raises}

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
    params = check_parameters(locals())
    wall = check_choice(wall, 'wall', ('line', 'ring'))
    wall_angle = check_real(wall_angle, 'wall_angle')
    _, height, width = params.shape
    px = params.pixel_size
    if wall_radius is None:
        wall_radius = 0.3 * min(height, width) * px
    wall_radius = check_positive(wall_radius, 'wall_radius')
    bleach_time = check_bleach_time(bleach_time)
    if wall_centre is None:
        centre = (width * px / 2, height * px / 2)
    else:
        centre = check_vector(wall_centre, 'wall_centre')
    progress = check_bool(progress, 'progress')
    domain, geometry = _domains.barrier_field(
        params, wall=wall, centre=centre, angle=wall_angle, radius=wall_radius
    )
    return run(
        'barrier',
        params,
        domain,
        geometry,
        progress=progress,
        bleach_time=bleach_time,
    )


@document
def two_species(
    *,
    shape: Sequence[int] = (4096, 64, 64),
    bound: float = 0.5,
    crosstalk: float = 0.0,
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
    """Return two channels of species A and B, some bound in complexes.

    Channel 1 sees species A, channel 2 species B. A fraction `bound` of
    the molecules of each species are A–B complexes, which move as one
    particle and show in both channels; the others are free A (channel 1
    only) and free B (channel 2 only). Every particle diffuses freely in
    the periodic field of :func:`free`, with the same diffusion
    coefficient, and is as bright in its channel as a particle of
    :func:`free`, so each channel alone is a :func:`free` series of
    `density`. Photons and camera noise are drawn independently in the
    two channels.

    Parameters
    ----------
    {shape}
    bound : float, optional, default: 0.5
        Fraction of the molecules of each species bound in A–B
        complexes, in [0, 1]: 0 simulates independent species, 1 only
        complexes.
    crosstalk : float, optional, default: 0.0
        Spectral cross-talk, >= 0: every A molecule (free or bound) adds
        ``crosstalk * brightness`` photons per frame to channel 2 on top
        of its `brightness` photons in channel 1.
    diffusion : float, optional, default: 4.0
        Diffusion coefficient in µm²/s, > 0, of free A, free B and
        complexes alike.
    {pixel_size}
    {frame_time}
    {psf_radius}
    density : float, optional, default: 5.0
        Molecules of each species per µm², >= 0, free and bound
        together: ``density * (1 - bound)`` free A, as many free B and
        ``density * bound`` complexes per µm². The numbers are rounded.
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
        ``data`` of shape ``(T, 2, H, W)`` for `shape` ``(T, H, W)``,
        channel 1 at ``data[:, 0]`` and channel 2 at ``data[:, 1]``, and
        the ground ``truth``, with ``bound``, ``crosstalk``, ``species``
        (the particles simulated, in the format of :class:`Simulation`:
        free ``A``, complexes ``AB`` and free ``B``, each with the
        ``channels`` it shows in), ``concentration``,
        ``bound_simulated`` (complexes over molecules of a species,
        after rounding) and ``cross_ratio`` (below).
        :meth:`Simulation.save` writes the channels as two files.

    {raises}

    Notes
    -----
    With ``c`` the covariance of one particle's intensity at two pixels
    (the same for every particle), ``N`` molecules of each species and
    ``N_AB`` complexes, channel 1's covariance is ``N c``, the cross
    covariance ``(N_AB + crosstalk * N) c`` and the mean signals above
    ``offset + background`` are ``S1 = N s`` and ``S2 = (1 + crosstalk)
    N s``. The cross pCF normalized by the signal means, ``G_x = cov /
    (S1 S2)``, and channel 1's auto pCF ``G_1 = cov / S1²`` at the same
    distance and delay have the ratio::

        G_x / G_1 = (N_AB / N + crosstalk) / (1 + crosstalk)

    at every distance and delay, ``bound`` without cross-talk
    (``truth['cross_ratio']``). The pCF of :func:`ipcf.pcf_image`
    divides by the means of the counts ``F = S + offset + background``:
    multiply each curve by ``F_a F_b / (S_a S_b)`` first, or, without
    cross-talk (equal means), compare the raw curves directly. Without
    cross-talk ``G_x / sqrt(G_1 G_2)`` is ``bound`` too.

    With `bleach_time`, a complex bleaches as one particle, dark in both
    channels at once, so the ratio above holds at every time.

    Examples
    --------
    >>> sim = two_species(shape=(8, 16, 16), bound=0.3, seed=0)
    >>> sim.data.shape, sim.data.dtype
    ((8, 2, 16, 16), dtype('uint16'))
    >>> sim.truth['kind'], sim.truth['bound']
    ('two_species', 0.3)
    >>> [(s['name'], s['particles']) for s in sim.truth['species']]
    [('A', 31), ('AB', 14), ('B', 31)]
    >>> channel1, channel2 = sim.data[:, 0], sim.data[:, 1]

    """
    if isinstance(diffusion, str) or not isinstance(diffusion, Real):
        msg = f'{diffusion=!r} is not a real number'
        raise TypeError(msg)
    params = check_parameters(locals(), fraction=None)
    bound = check_real(bound, 'bound', minimum=0.0, maximum=1.0)
    crosstalk = check_real(crosstalk, 'crosstalk', minimum=0.0)
    bleach_time = check_bleach_time(bleach_time)
    progress = check_bool(progress, 'progress')
    domain, geometry = _domains.periodic_field(params)
    return _species.run_two_species(
        params,
        domain,
        geometry,
        bound=bound,
        crosstalk=crosstalk,
        bleach_time=bleach_time,
        progress=progress,
    )


@document
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
    diffusion : float, optional, default: 4.0
        Diffusion coefficient in µm²/s, > 0; one population only.
    {pixel_size}
    {frame_time}
    {psf_radius}
    density : float, optional, default: 10.0
        Particles per µm² inside the cell, >= 0.
    brightness : float, optional, default: 50.0
        Mean photons per particle and frame at the start, before
        bleaching, >= 0.
    background : float, optional, default: 2.0
        Mean photons per pixel and frame, everywhere and not bleached,
        >= 0.
    offset : float, optional, default: 100.0
        Camera offset in counts, from 0 to 32768.
    read_noise : float, optional, default: 1.5
        Standard deviation of the camera's Gaussian read noise in counts,
        >= 0.
    border : float, optional, default: 20.0
        Photons per pixel and frame of the cell's rim, 3 pixels wide, >= 0.
    bleach_time : float or None, optional, default: 15.0
        Time constant in s of the exponential decay of the brightness of
        the particles and the rim (the intensity falls to
        ``exp(-frames * frame_time / bleach_time)``, 29 % with the
        defaults), > 0. None: no bleaching.
    cell : float or (float, float), optional
        Semi-axes in µm along x and y of the ellipse the cell's outline
        modulates, > 0. Default: ``(0.36 * width, 0.34 * height) *
        pixel_size``.
    tile : int, optional, default: 128
        Side in pixels of the simulated periodic field (see Notes), at
        least ``2 * ceil(2 * psf_radius / pixel_size) + 3``.
    {seed}
    prefix : str, optional, default: 'frame'
        File name prefix, without path separators.
    overwrite : bool, optional, default: False
        Replace an existing directory that holds only TIFF files and a
        ``truth.json``.
    progress : bool, optional, default: False
        Show a progress bar of bytes written on stderr.
    num_threads : int, optional
        Threads composing and writing frames. None (default) or 0: all
        usable cores.

    Returns
    -------
    pathlib.Path
        The directory written.

    Raises
    ------
    FileExistsError
        If `directory` exists and `overwrite` is False, or it holds other
        files.
    TypeError
        An argument has the wrong type (a number given as a string or a
        bool is one).
    ValueError
        An argument is out of range, `diffusion` is several values, or
        `prefix` holds a path separator.

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
    params = check_parameters(locals(), fraction=None, dtype='uint16')
    if isinstance(params.diffusion, tuple):
        msg = f'{diffusion=!r}: spim takes one diffusion coefficient'
        raise ValueError(msg)
    if not 0.0 <= params.offset <= 32768.0:
        msg = f'offset={params.offset} must be between 0 and 32768'
        raise ValueError(msg)
    read_noise = check_real(read_noise, 'read_noise', minimum=0.0)
    border = check_real(border, 'border', minimum=0.0)
    bleach_time = check_bleach_time(bleach_time)
    _, height, width = params.shape
    if cell is None:
        semi_axes = (0.36 * width, 0.34 * height)
    else:
        semi_um = check_pair(cell, 'cell')
        px = params.pixel_size
        semi_axes = (semi_um[0] / px, semi_um[1] / px)
    tile = check_int(tile, 'tile', minimum=2 * params.half + 1)
    check_string(prefix, 'prefix')
    if any(c in prefix for c in '/\\'):
        msg = f'{prefix=!r} must be a file name prefix without separators'
        raise ValueError(msg)
    overwrite = check_bool(overwrite, 'overwrite')
    progress = check_bool(progress, 'progress')
    if num_threads is not None:
        check_int(num_threads, 'num_threads', minimum=0)
    nthreads = number_threads(num_threads)
    directory = pathlib.Path(directory)
    _spim.check_output(directory, overwrite=overwrite)
    return _spim.write(
        directory,
        params,
        read_noise=read_noise,
        border=border,
        bleach_time=bleach_time,
        semi_axes=semi_axes,
        tile=tile,
        prefix=prefix,
        overwrite=overwrite,
        progress=progress,
        num_threads=nthreads,
    )


# line scans and detector arrays: see ipcf.simulate._line
from ._line import detector_array, line_scan  # noqa: E402

__all__ += ['detector_array', 'line_scan']

# confined, hop and partly immobile diffusion: see ipcf.simulate._compartments
from ._compartments import anomalous, confined, immobile  # noqa: E402

__all__ += ['anomalous', 'confined', 'immobile']
