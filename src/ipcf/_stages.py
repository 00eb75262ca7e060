"""Seconds spent per stage of a run, for benchmarks; off unless asked.

A caller that wants to know where the time of a run goes passes a
:class:`StageTimes` down (``ipcf.pipeline.run(..., stages=...)``); every
step then adds its wall-clock seconds under its name with
:func:`timed`. Without one, :func:`timed` is a context manager that does
nothing, so the library pays one function call per timed step.

"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

__all__ = ['StageTimes', 'timed']


class StageTimes:
    """Seconds per stage, added from any thread.

    Examples
    --------
    >>> times = StageTimes()
    >>> times.add('read', 1.0)
    >>> times.add('read', 0.5)
    >>> times.add('fft', 1.5)
    >>> times.seconds
    {'read': 1.5, 'fft': 1.5}
    >>> times.shares()
    {'read': 0.5, 'fft': 0.5}

    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seconds: dict[str, float] = {}

    def add(self, stage: str, seconds: float, /) -> None:
        """Add seconds to a stage."""
        with self._lock:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    def shares(self) -> dict[str, float]:
        """Return each stage's fraction of the seconds of all stages."""
        with self._lock:
            total = sum(self.seconds.values())
            if total <= 0:
                return {stage: 0.0 for stage in self.seconds}
            return {
                stage: seconds / total
                for stage, seconds in self.seconds.items()
            }


@contextlib.contextmanager
def _timing(times: StageTimes, stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        times.add(stage, time.perf_counter() - start)


def timed(
    times: StageTimes | None, stage: str, /
) -> contextlib.AbstractContextManager[None]:
    """Return a context that adds its seconds to `stage` of `times`.

    With `times` None it does nothing.

    >>> times = StageTimes()
    >>> with timed(times, 'bleach'):
    ...     pass
    >>> list(times.seconds)
    ['bleach']
    >>> with timed(None, 'bleach'):
    ...     pass

    """
    if times is None:
        return contextlib.nullcontext()
    return _timing(times, stage)
