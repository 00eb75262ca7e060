"""Named buffers that consecutive calls reuse, freed soon after the last.

Fresh large arrays are slow to touch first (every page faults, in a
virtual machine twice), so a step that runs once per block of a
pipeline keeps its buffers in a :class:`Workspace`: a finished call
hands them on to the next one, and they are freed when no call has
come for :attr:`Workspace.keep_seconds`. Each subclass keeps its own
idle set (at most one); concurrent calls get separate workspaces.

"""

from __future__ import annotations

import threading
from typing import Any

import numpy

__all__ = ['Workspace']


class Workspace:
    """Buffers reused by consecutive calls; subclass one per user.

    Examples
    --------
    >>> class Buffers(Workspace):
    ...     pass
    >>> work = Buffers.acquire()
    >>> work.array('x', (2, 3)).shape
    (2, 3)
    >>> work.release()
    >>> Buffers.acquire() is work
    True

    """

    keep_seconds = 2.0
    """How long the buffers of a finished call wait for the next call."""

    _lock: threading.Lock
    _idle: list[Workspace]
    _timer: threading.Timer | None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._lock = threading.Lock()
        cls._idle = []
        cls._timer = None

    def __init__(self) -> None:
        self._arrays: dict[str, numpy.ndarray] = {}

    @classmethod
    def acquire(cls) -> Workspace:
        """Return the idle workspace or a new one."""
        with cls._lock:
            if cls._timer is not None:
                cls._timer.cancel()
                cls._timer = None
            return cls._idle.pop() if cls._idle else cls()

    def release(self) -> None:
        """Keep this workspace for the next call, for a short while."""
        cls = type(self)
        with cls._lock:
            cls._idle[:] = [self]
            if cls._timer is not None:
                cls._timer.cancel()
            cls._timer = threading.Timer(cls.keep_seconds, cls._drop)
            cls._timer.daemon = True
            cls._timer.start()

    @classmethod
    def _drop(cls) -> None:
        with cls._lock:
            cls._idle.clear()
            cls._timer = None

    def array(
        self, name: str, shape: tuple[int, ...], dtype: Any = numpy.float32
    ) -> numpy.ndarray:
        """Return an uninitialized C-ordered array, reusing buffer `name`."""
        size = int(numpy.prod(shape))
        dtype = numpy.dtype(dtype)
        buffer = self._arrays.get(name)
        if buffer is None or buffer.dtype != dtype or buffer.size < size:
            self._arrays.pop(name, None)
            buffer = numpy.empty(size, dtype)
            self._arrays[name] = buffer
        return buffer[:size].reshape(shape)
