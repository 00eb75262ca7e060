"""Private helpers shared by the ipcf modules: threads, progress, checks."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

__all__ = [
    'check_int',
    'check_real',
    'jsonable',
    'limit_threads',
    'number_threads',
    'progress_bar',
    'remove_path',
]


def number_threads(num_threads: int | None = None, /) -> int:
    """Return the number of threads to use.

    ``None`` or ``0`` means all cores usable by this process.

    >>> number_threads(1)
    1

    """
    if num_threads is None or num_threads == 0:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - not Linux
            return max(1, os.cpu_count() or 1)
    num_threads = check_int(num_threads, 'num_threads', minimum=1)
    return num_threads


def check_int(value: Any, name: str, /, *, minimum: int | None = None) -> int:
    """Return value as int or raise TypeError/ValueError naming it.

    >>> check_int(3, 'radius', minimum=1)
    3

    """
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        msg = f'{name}={value!r} is not an integer'
        raise TypeError(msg)
    value = int(value)
    if minimum is not None and value < minimum:
        msg = f'{name}={value} must be >= {minimum}'
        raise ValueError(msg)
    return value


def check_real(
    value: Any,
    name: str,
    /,
    *,
    positive: bool = False,
    minimum: float | None = None,
) -> float:
    """Return value as a finite float or raise TypeError/ValueError.

    >>> check_real(0.5, 'fraction', minimum=0.0)
    0.5

    """
    import math
    import numbers

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


def jsonable(value: Any, /) -> Any:
    """Return value with numpy scalars and arrays as plain Python types.

    Dicts (keys as str), lists and tuples are converted item by item, so
    the result can be stored as a JSON attribute.

    >>> import numpy
    >>> jsonable({'a': numpy.float32(0.5), 1: (numpy.arange(2),)})
    {'a': 0.5, '1': [[0, 1]]}

    """
    import numpy

    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, numpy.generic):
        return value.item()
    if isinstance(value, numpy.ndarray):
        return value.tolist()
    return value


@contextlib.contextmanager
def limit_threads(num_threads: int, /) -> Iterator[None]:
    """Cap BLAS and OpenMP thread pools within the context.

    Numba's threading layer is capped by callers through
    ``numba.set_num_threads``; ``scipy.fft`` takes ``workers``.

    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a core dependency
        yield
        return
    with threadpool_limits(limits=num_threads):
        yield


def progress_bar(
    total: int | None = None,
    /,
    *,
    enable: bool = False,
    desc: str | None = None,
    unit: str = 'it',
    unit_scale: bool = False,
) -> Any:
    """Return a tqdm progress bar, or a silent stand-in when disabled."""
    if not enable:
        return _NoProgress()
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        unit_scale=unit_scale,
        dynamic_ncols=True,
        leave=False,
    )


def remove_path(path: Any, /) -> None:
    """Remove a file, link or directory tree if it exists.

    A link is removed, never what it points to.

    """
    import shutil

    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


class _NoProgress:
    """Do-nothing progress bar with the tqdm methods ipcf uses."""

    n = 0

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix_str(self, s: str = '', refresh: bool = True) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *args: object) -> None:
        pass
