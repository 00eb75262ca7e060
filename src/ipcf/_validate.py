"""Checks of public arguments: one wording and one type policy.

Every public function of ipcf validates its arguments with these helpers
at its boundary, before any work or any file is created. The policy:

- a number given as a string or a bool is a ``TypeError`` (``'0.5'``,
  ``True``), as is any other wrong kind;
- a value of the right kind outside its range is a ``ValueError``;
- messages name the argument as ``name=value`` and say what was expected.

"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy

__all__ = [
    'check_any',
    'check_bool',
    'check_choice',
    'check_int',
    'check_mask',
    'check_positive',
    'check_real',
    'check_series',
    'check_string',
]


def check_int(
    value: Any,
    name: str,
    /,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    """Return value as int or raise TypeError/ValueError naming it.

    >>> check_int(3, 'radius', minimum=1)
    3
    >>> check_int('3', 'radius')
    Traceback (most recent call last):
    ...
    TypeError: radius='3' is not an integer

    """
    if isinstance(value, bool | numpy.bool_) or not isinstance(
        value, numbers.Integral
    ):
        msg = f'{name}={value!r} is not an integer'
        raise TypeError(msg)
    value = int(value)
    if minimum is not None and value < minimum:
        msg = f'{name}={value} must be >= {minimum}'
        raise ValueError(msg)
    if maximum is not None and value > maximum:
        msg = f'{name}={value} must be <= {maximum}'
        raise ValueError(msg)
    return value


def check_real(
    value: Any,
    name: str,
    /,
    *,
    positive: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float:
    """Return value as a finite float or raise TypeError/ValueError.

    >>> check_real(0.5, 'fraction', minimum=0.0)
    0.5
    >>> check_real(True, 'dt')
    Traceback (most recent call last):
    ...
    TypeError: dt=True is not a real number

    """
    if isinstance(value, bool | numpy.bool_) or not isinstance(
        value, numbers.Real
    ):
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
    if maximum is not None and value > maximum:
        msg = f'{name}={value} must be <= {maximum}'
        raise ValueError(msg)
    return value


def check_positive(value: Any, name: str, /) -> float:
    """Return value as a finite float > 0.

    >>> check_positive(1e-3, 'dt')
    0.001

    """
    return check_real(value, name, positive=True)


def check_bool(value: Any, name: str, /) -> bool:
    """Return value as bool; anything but a bool is a TypeError.

    >>> check_bool(numpy.True_, 'truncate')
    True

    """
    if not isinstance(value, bool | numpy.bool_):
        msg = f'{name}={value!r} is not a bool'
        raise TypeError(msg)
    return bool(value)


def check_string(value: Any, name: str, /) -> str:
    """Return value if it is a str, else raise TypeError.

    >>> check_string('cpu', 'engine')
    'cpu'

    """
    if not isinstance(value, str):
        msg = f'{name}={value!r} is not a string'
        raise TypeError(msg)
    return value


def check_choice(value: Any, name: str, choices: Iterable[str], /) -> str:
    """Return value if it is one of choices, else raise ValueError.

    >>> check_choice('linear', 'mode', ('circular', 'linear'))
    'linear'

    """
    choices = tuple(choices)
    check_string(value, name)
    if value not in choices:
        known = ', '.join(repr(c) for c in choices)
        msg = f'{name}={value!r} is not one of {known}'
        raise ValueError(msg)
    return value


def check_series(
    data: Any,
    /,
    *,
    name: str = 'data',
    ndim: int = 3,
    min_frames: int = 1,
    axes: str = '(frames, height, width)',
) -> tuple[Any, tuple[int, ...]]:
    """Return an array-like series and its shape after checking it.

    Objects with ``shape`` and ``dtype`` (memmaps, h5py, zarr, dask) are
    returned as they are, without reading them; anything else goes
    through :func:`numpy.asarray`.

    >>> check_series(numpy.zeros((16, 2, 3), 'u2'))[1]
    (16, 2, 3)

    """
    if not hasattr(data, 'shape') or not hasattr(data, 'dtype'):
        data = numpy.asarray(data)
    dtype = numpy.dtype(data.dtype)
    if dtype.kind not in 'uif':
        msg = f'{name}.dtype={dtype} is not an integer or floating-point type'
        raise TypeError(msg)
    shape = tuple(int(n) for n in data.shape)
    if len(shape) != ndim:
        msg = f'{name}.shape={shape} is not {ndim}-D {axes}'
        raise ValueError(msg)
    if shape[0] < min_frames:
        msg = f'{name} has {shape[0]} frames; at least {min_frames} are needed'
        raise ValueError(msg)
    return data, shape


def check_mask(
    mask: Any, shape: tuple[int, ...], /, *, name: str = 'mask'
) -> numpy.ndarray:
    """Return mask as a bool array of the given shape.

    A mask is boolean, integer (non-zero is True), or floats that are
    all 0 or 1 (as image files store it); any other dtype is a
    TypeError, another shape a ValueError.

    >>> check_mask([[1, 0]], (1, 2)).tolist()
    [[True, False]]

    """
    mask = numpy.asarray(mask)
    shape = tuple(int(n) for n in shape)
    if mask.shape != shape:
        msg = (
            f'{name}.shape={mask.shape} does not match the image shape {shape}'
        )
        raise ValueError(msg)
    if mask.dtype.kind == 'f' and numpy.isin(mask, (0, 1)).all():
        mask = mask != 0  # a 0/1 image stored as floats
    if mask.dtype.kind not in 'bui':
        msg = (
            f'{name}.dtype={mask.dtype} is not boolean or integer (or '
            'floats that are all 0 or 1)'
        )
        raise TypeError(msg)
    return mask.astype(bool)


def check_any(mask: numpy.ndarray, /, *, name: str = 'mask') -> None:
    """Raise ValueError if a mask selects no pixel."""
    if not mask.any():
        msg = f'{name} selects no pixel to analyse'
        raise ValueError(msg)
