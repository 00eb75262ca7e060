"""Parameters that every simulation shares: their checks and their docs.

:func:`check_parameters` validates the physical parameters that
:func:`ipcf.simulate.free`, :func:`~ipcf.simulate.channel`,
:func:`~ipcf.simulate.flow`, :func:`~ipcf.simulate.barrier`,
:func:`~ipcf.simulate.two_species` and :func:`~ipcf.simulate.spim` take
alike, and returns them as one :class:`Parameters`. :func:`document`
fills the public docstrings from the one description of each shared
parameter kept here, beside its check, so that the limits documented
are the limits checked.

"""

from __future__ import annotations

import dataclasses
import inspect
import math
import numbers
import re
import textwrap
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import numpy

from .._validate import check_int, check_positive, check_real

__all__ = [
    'Parameters',
    'check_bleach_time',
    'check_pair',
    'check_parameters',
    'check_triple',
    'check_vector',
    'document',
]

_F = TypeVar('_F', bound=Callable[..., Any])


@dataclasses.dataclass(frozen=True)
class Parameters:
    """Validated physical parameters shared by every simulation.

    A volume series has a 4-item `shape` ``(T, Z, Y, X)`` and its axial
    voxel size `pixel_size_z` and PSF radius `psf_z` (both None for
    images).

    """

    shape: tuple[int, ...]
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
    pixel_size_z: float | None = None
    psf_z: float | None = None

    @property
    def volume(self) -> bool:
        """Whether the series is a volume series (T, Z, Y, X)."""
        return len(self.shape) == 4

    @property
    def aspect(self) -> float:
        """Lateral pixel size over the z voxel size (1 for images)."""
        if self.pixel_size_z is None:
            return 1.0
        return self.pixel_size / self.pixel_size_z

    @property
    def width_z(self) -> float:
        """1/e² radius of the PSF along z in planes (volumes only)."""
        assert self.psf_z is not None and self.pixel_size_z is not None
        return self.psf_z / self.pixel_size_z

    @property
    def half_z(self) -> int:
        """Planes above and below a spot's plane it is rendered in."""
        return math.ceil(2.0 * self.width_z) + 1

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


_FIELDS = tuple(field.name for field in dataclasses.fields(Parameters))


def check_parameters(
    arguments: Mapping[str, Any], /, *, volume: bool = False, **fixed: Any
) -> Parameters:
    """Return the shared parameters among arguments, checked.

    Parameters
    ----------
    arguments : mapping
        A public function's arguments by name, its ``locals()`` taken
        first thing; names that are no field of :class:`Parameters` are
        ignored.
    volume : bool, optional, default: False
        Whether the function simulates volumes: then `shape` may have 4
        items ``(T, Z, Y, X)``, and `pixel_size_z` and `psf_z` are read
        (None: twice `pixel_size` and `psf_radius`); with 3 items they
        must be None. Otherwise they are not read.
    **fixed
        Values of fields that the function does not take (``spim`` has
        no ``dtype``); a field missing from both is a KeyError.

    Raises
    ------
    TypeError, ValueError
        If a parameter has the wrong type or is out of range.

    Examples
    --------
    >>> params = check_parameters(
    ...     {'shape': (4, 8, 8), 'diffusion': 4.0, 'pixel_size': 0.1,
    ...      'frame_time': 1e-3, 'psf_radius': 0.25, 'density': 5.0,
    ...      'brightness': 50.0, 'background': 2.0, 'offset': 100.0,
    ...      'seed': 0, 'dtype': 'uint16', 'progress': False},
    ...     fraction=None,
    ... )
    >>> params.shape, params.half
    ((4, 8, 8), 6)

    """
    values = {name: arguments[name] for name in _FIELDS if name in arguments}
    values.update(fixed)
    diffusion, fraction = _check_diffusion(
        values['diffusion'], values['fraction']
    )
    shape = _check_shape(values['shape'], volume=volume)
    pixel_size = check_positive(values['pixel_size'], 'pixel_size')
    frame_time = check_positive(values['frame_time'], 'frame_time')
    psf_radius = check_positive(values['psf_radius'], 'psf_radius')
    axial: dict[str, float] = {}
    if volume:
        axial = _check_axial(
            shape,
            values.get('pixel_size_z'),
            values.get('psf_z'),
            pixel_size=pixel_size,
            psf_radius=psf_radius,
        )
    return Parameters(
        shape=shape,
        diffusion=diffusion,
        fraction=fraction,
        pixel_size=pixel_size,
        frame_time=frame_time,
        psf_radius=psf_radius,
        density=check_real(values['density'], 'density', minimum=0.0),
        brightness=check_real(values['brightness'], 'brightness', minimum=0.0),
        background=check_real(values['background'], 'background', minimum=0.0),
        offset=check_real(values['offset'], 'offset'),
        seed=_check_seed(values['seed']),
        dtype=_check_dtype(values['dtype']),
        **axial,
    )


def _check_axial(
    shape: tuple[int, ...],
    pixel_size_z: Any,
    psf_z: Any,
    /,
    *,
    pixel_size: float,
    psf_radius: float,
) -> dict[str, float]:
    """Return the axial voxel size and PSF radius of a volume, checked."""
    if len(shape) == 3:
        for name, value in (('pixel_size_z', pixel_size_z), ('psf_z', psf_z)):
            if value is not None:
                msg = (
                    f'{name}={value!r} applies to volume series: give a '
                    f'shape of 4 (frames, depth, height, width), not {shape}'
                )
                raise ValueError(msg)
        return {}
    if pixel_size_z is None:
        pixel_size_z = 2.0 * pixel_size
    if psf_z is None:
        psf_z = 2.0 * psf_radius
    return {
        'pixel_size_z': check_positive(pixel_size_z, 'pixel_size_z'),
        'psf_z': check_positive(psf_z, 'psf_z'),
    }


def check_triple(value: Any, name: str, /) -> tuple[float, float, float]:
    """Return one or three positive numbers as a triple or raise.

    >>> check_triple(2, 'cell'), check_triple((1, 0.5, 0.25), 'cell')
    ((2.0, 2.0, 2.0), (1.0, 0.5, 0.25))

    """
    items = (value,) * 3 if isinstance(value, numbers.Real) else _items(value)
    if items is None or len(items) != 3:
        msg = f'{name}={value!r} is not a number or three numbers'
        raise TypeError(msg)
    first, second, third = (
        check_positive(item, f'{name}[{i}]') for i, item in enumerate(items)
    )
    return first, second, third


def check_pair(value: Any, name: str, /) -> tuple[float, float]:
    """Return one or two positive numbers as a pair or raise.

    >>> check_pair(2, 'cell'), check_pair((1, 0.5), 'cell')
    ((2.0, 2.0), (1.0, 0.5))

    """
    items = (
        (value, value) if isinstance(value, numbers.Real) else _items(value)
    )
    if items is None or len(items) != 2:
        msg = f'{name}={value!r} is not a number or a pair of numbers'
        raise TypeError(msg)
    return (
        check_positive(items[0], f'{name}[0]'),
        check_positive(items[1], f'{name}[1]'),
    )


def check_vector(value: Any, name: str, /) -> tuple[float, float]:
    """Return two finite numbers or raise.

    >>> check_vector([50, 0], 'velocity')
    (50.0, 0.0)

    """
    items = _items(value)
    if items is None or len(items) != 2:
        msg = f'{name}={value!r} is not a pair of numbers'
        raise TypeError(msg)
    return (
        check_real(items[0], f'{name}[0]'),
        check_real(items[1], f'{name}[1]'),
    )


def _check_diffusion(
    diffusion: Any, fraction: Any, /
) -> tuple[float | tuple[float, ...], tuple[float, ...] | None]:
    """Return one diffusion coefficient, or several with their fractions."""
    if isinstance(diffusion, numbers.Real):
        diffusion = check_positive(diffusion, 'diffusion')
        if fraction is not None:
            msg = (
                f'{fraction=!r} needs several diffusion coefficients, '
                f'got {diffusion=}'
            )
            raise ValueError(msg)
        return diffusion, None
    items = _items(diffusion)
    if not items:
        msg = f'{diffusion=!r} is not a number or a sequence of numbers'
        raise TypeError(msg)
    values = tuple(
        check_positive(value, f'diffusion[{i}]')
        for i, value in enumerate(items)
    )
    if len(values) == 1:
        return _check_diffusion(values[0], fraction)
    if fraction is None:
        return values, tuple(1.0 / len(values) for _ in values)
    if isinstance(fraction, numbers.Real) and len(values) == 2:
        first = check_real(fraction, 'fraction', minimum=0.0, maximum=1.0)
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


def _check_shape(shape: Any, /, *, volume: bool = False) -> tuple[int, ...]:
    """Return shape as 3 (or, for volumes, 4) ints >= 1 or raise."""
    items = _items(shape)
    if volume:
        if items is None or len(items) not in (3, 4):
            msg = (
                f'{shape=!r} is not 3 or 4 integers (frames, [depth,] '
                'height, width)'
            )
            raise (TypeError if items is None else ValueError)(msg)
    elif items is None or len(items) != 3:
        msg = f'{shape=!r} is not 3 integers (frames, height, width)'
        raise (TypeError if items is None else ValueError)(msg)
    return tuple(
        check_int(value, f'shape[{i}]', minimum=1)
        for i, value in enumerate(items)
    )


def check_bleach_time(bleach_time: Any, /) -> float | None:
    """Return bleach_time checked: None or a positive number.

    >>> check_bleach_time(None), check_bleach_time(2)
    (None, 2.0)

    """
    if bleach_time is None:
        return None
    return check_positive(bleach_time, 'bleach_time')


def _items(value: Any, /) -> tuple[Any, ...] | None:
    """Return the items of a sequence or 1-D array, None for others."""
    if isinstance(value, str | bytes):
        return None
    if isinstance(value, numpy.ndarray) and value.ndim == 1:
        return tuple(value.tolist())
    if isinstance(value, Sequence):
        return tuple(value)
    return None


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


# One description per shared parameter, as numpydoc writes it; {default}
# is the default in the signature of the function documented.
_PARAMETERS = """
shape : tuple of 3 int, optional, default: {default}
    Frames, height and width; each at least 1.
diffusion : float or sequence of float, optional, default: {default}
    Diffusion coefficient in µm²/s, > 0. Several values simulate as
    many populations of particles, of the same brightness, that
    differ only in their diffusion coefficient.
fraction : float or sequence of float, optional
    Fraction of the particles in each population, >= 0, summing to 1;
    one number is the fraction of the first of two populations. None
    (default) gives every population the same share. Only with
    several `diffusion` values.
pixel_size : float, optional, default: {default}
    Pixel side in µm, > 0.
frame_time : float, optional, default: {default}
    Time between frames in s, > 0.
psf_radius : float, optional, default: {default}
    1/e² radius of the Gaussian point spread function in µm, > 0.
density : float, optional, default: {default}
    Particles per µm², >= 0. The number of particles is the density
    times the simulated area, rounded.
brightness : float, optional, default: {default}
    Mean photons per particle and frame, >= 0.
background : float, optional, default: {default}
    Mean photons per pixel and frame, >= 0.
offset : float, optional, default: {default}
    Camera counts added to every pixel after the Poisson noise.
seed : int, optional
    Seed of :func:`numpy.random.default_rng`, >= 0. None (default)
    picks one at random; ``truth['seed']`` records it either way.
pixel_size_z : float, optional
    Volumes only: z voxel size (plane spacing) in µm, > 0. None
    (default) is twice `pixel_size`; must be None for images.
psf_z : float, optional
    Volumes only: 1/e² radius of the PSF along z in µm, > 0. None
    (default) is twice `psf_radius`; must be None for images.
dtype : dtype_like, optional, default: {default}
    Integer or floating-point type of the data. Integer data are
    rounded and clipped to the type's range.
progress : bool, optional, default: {default}
    Show a progress bar on stderr.
bleach_time : float, optional
    Mean time in s that a particle emits before it bleaches, > 0:
    each particle goes dark for good at a time drawn from an
    exponential distribution of that mean, so the signal fades as
    ``exp(-t / bleach_time)``; ``truth['bleached']`` counts the
    particles dark by the last frame. None (default): no bleaching.
"""

# Sections that several docstrings share, by name.
_SECTIONS = {
    'raises': """
Raises
------
TypeError
    An argument has the wrong type (a number given as a string or a
    bool is one), or `dtype` is not an integer or floating-point type.
ValueError
    An argument is out of range or not one of its choices.
""",
}


def _entries(text: str, /) -> dict[str, str]:
    """Return the entries of a numpydoc parameter list by name."""
    entries: dict[str, list[str]] = {}
    for line in text.strip('\n').splitlines():
        if not line.startswith(' '):
            lines = entries[line.split(' : ')[0]] = []
        lines.append(line)
    return {name: '\n'.join(lines) for name, lines in entries.items()}


_ENTRIES = _entries(_PARAMETERS)
_MARKER = re.compile(r'^( *)\{(\w+)\}\n', re.MULTILINE)


def document(func: _F, /) -> _F:
    """Fill the ``{name}`` lines of func's docstring; return func.

    A line holding only ``{name}`` becomes, at its indentation, the
    shared description of parameter `name` with the default of func's
    signature, or the shared section `name` (``{raises}``). A name that
    is neither, or a parameter that func does not take, is a KeyError
    when the module defining func is imported.

    Examples
    --------
    >>> @document
    ... def f(*, pixel_size=0.1):
    ...     '''Do nothing.
    ...
    ...     {pixel_size}
    ...     '''
    >>> print(f.__doc__.strip())
    Do nothing.
    <BLANKLINE>
        pixel_size : float, optional, default: 0.1
            Pixel side in µm, > 0.

    """
    if func.__doc__ is None:  # python -OO
        return func
    parameters = inspect.signature(func).parameters

    def fill(match: re.Match[str]) -> str:
        indent, name = match.groups()
        if name in _SECTIONS:
            text = _SECTIONS[name].strip('\n')
        else:
            default = parameters[name].default
            text = _ENTRIES[name].format(default=repr(default))
        return textwrap.indent(text, indent) + '\n'

    func.__doc__ = _MARKER.sub(fill, func.__doc__)
    return func
