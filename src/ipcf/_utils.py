"""Private helpers shared by the ipcf modules: threads, progress, checks."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

__all__ = [
    'check_int',
    'limit_threads',
    'number_threads',
    'progress_bar',
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
