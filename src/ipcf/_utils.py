"""Private helpers shared by the ipcf modules: threads, progress, JSON."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

__all__ = [
    'jsonable',
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
    from ._validate import check_int

    num_threads = check_int(num_threads, 'num_threads', minimum=1)
    return num_threads


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
