"""Engines that compute the image pCF for :func:`ipcf.pcf_image`.

Each engine is a module with

``NAME``
    Its name as given to ``pcf_image(engine=...)``.
``available() -> bool``
    Whether it can run here (libraries, devices).
``tile_rows(nframes, height, width, radius, *, itemsize=4) -> int``
    How many result rows it wants per tile; the caller reads that many
    rows plus the radius halo above and below, `itemsize` bytes a sample.
``compute(data, out, *, points, edges, mask, mode, num_threads,
neighbour=None)``
    Fill ``out[y, x, point, bin]`` (float32, shape
    ``(h, W - 2r, npoints, nbins)``) from a C-ordered tile ``data`` of
    shape ``(N, h + 2r, W)``. ``mask`` (bool ``(h, W - 2r)`` or None)
    marks centre pixels worth computing. ``neighbour`` is an optional
    second channel of the same shape whose pixels serve as circle
    neighbours (cross pCF); None means `data`. Engines do no validation
    and never modify `data`.

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
