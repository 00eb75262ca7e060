"""Engines that compute correlation plans for the public functions.

Each engine is a module with

``NAME``
    Its name as given to ``pcf_image(engine=...)``.
``available() -> bool``
    Whether it can run here (libraries, devices).
``compute(plan, reader, out, *, mask=None, num_threads=1, progress=None)``
    Fill ``out[direction, y, x, point, bin]`` (float32, shape
    ``plan.out_shape((H, W))``) for the :class:`ipcf.plan.Plan` `plan`,
    pulling raw samples from `reader` (:class:`ipcf._rows.RowReader`:
    ``reader.read(channel, y0, y1, x0, x1)`` returns frames
    ``[0, plan.nframes)`` of those rows and columns, ``reader.shape`` is
    ``(N, H, W)``). Result pixel ``[y, x]`` is input pixel ``[y + hy, x
    + hx]`` with ``(hy, hx) = plan.halo``; its neighbour at point ``i``
    is input pixel ``[y + hy + v_i, x + hx + u_i]``. Centres come from
    channel 0 and neighbours from channel 1 if ``plan.cross``, else
    channel 0; with ``plan.reverse`` direction 1 holds the curves of
    centres in channel 1 toward channel 0. ``mask`` (bool ``(h, w)`` of
    the result grid, or None) marks centres worth computing; the others
    may be left as they are. ``progress(n)`` is called with the number
    of curves' pixels done (directions times centres), if given.
    Engines do no validation and never write to what the reader gives.

Engines are listed fastest first; ``'auto'`` takes the first available.

"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ['available', 'get']

_ENGINES = ('gpu', 'cpu', 'reference')


def _load(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f'.{name}', __name__)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith(f'{__name__}.{name}'):
            return None
        raise


def available() -> list[str]:
    """Return names of the engines that can run here, fastest first.

    >>> 'reference' in available()
    True

    """
    names = []
    for name in _ENGINES:
        module = _load(name)
        if module is not None and module.available():
            names.append(name)
    return names


def get(name: str = 'auto') -> ModuleType:
    """Return the engine module called `name`, or the fastest for 'auto'.

    >>> get('reference').NAME
    'reference'

    """
    if not isinstance(name, str):
        msg = f'engine={name!r} is not a string'
        raise TypeError(msg)
    names = available()
    if name == 'auto':
        name = names[0]
    if name not in names:
        known = ', '.join(repr(n) for n in ('auto', *names))
        msg = f'engine={name!r} is not available here; choose one of {known}'
        raise ValueError(msg)
    module = _load(name)
    assert module is not None
    return module
