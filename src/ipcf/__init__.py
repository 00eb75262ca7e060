"""Image pair-correlation function (pCF) analysis of image time series.

The public API is re-exported here. Heavy modules (plotting, dask, h5py,
zarr, CuPy) are imported on first use, so ``import ipcf`` stays light.

>>> import ipcf
>>> ipcf.circle(6, 4).tolist()
[[6, 0], [0, 6], [-6, 0], [0, -6]]

"""

from __future__ import annotations

__version__ = '0.1.0'

__all__ = [
    '__version__',
    'acf_image',
    'analyze',
    'analyze_line',
    'circle',
    'correlate',
    'correlate_backends',
    'diffusion_law',
    'fit_acf',
    'fit_detectors',
    'fit_line',
    'imread',
    'imsd',
    'load_result',
    'logbins',
    'maps',
    'number_brightness',
    'open_carpet',
    'open_series',
    'pcf_detectors',
    'pcf_image',
    'pcf_line',
    'save_result',
    'simulate',
    'sphere',
    'stics',
]

# these functions shadow their modules of the same name: bind them
# eagerly, so that a later ``import ipcf.correlate`` cannot replace them
# (numpy and scipy.fft only)
from .correlate import correlate, correlate_backends  # noqa: E402
from .imsd import imsd  # noqa: E402
from .stics import stics  # noqa: E402

# name -> module that defines it; resolved lazily by __getattr__
_LAZY = {
    'acf_image': 'fcs',
    'analyze': 'pipeline',
    'circle': 'pcf',
    'diffusion_law': 'fcs',
    'fit_acf': 'fcs',
    'number_brightness': 'brightness',
    'sphere': 'plan',
    'logbins': 'pcf',
    'pcf_image': 'pcf',
    'pcf_line': 'line',
    'analyze_line': 'line',
    'fit_line': 'line',
    'open_carpet': 'line',
    'fit_detectors': 'detectors',
    'pcf_detectors': 'detectors',
    'imread': 'io',
    'open_series': 'io',
    'load_result': 'store',
    'maps': 'analysis',
    'report': 'plot',
    'save_result': 'store',
}

_SUBMODULES = {
    'analysis',
    'bleach',
    'brightness',
    'cli',
    'convert',
    'correlate',
    'demo',
    'detectors',
    'engines',
    'fcs',
    'io',
    'line',
    'pcf',
    'pipeline',
    'plan',
    'plot',
    'report',
    'roi',
    'simulate',
    'store',
}


def __getattr__(name: str):
    import importlib

    if name in _LAZY:
        module = importlib.import_module(f'.{_LAZY[name]}', __name__)
        return getattr(module, name)
    if name in _SUBMODULES:
        return importlib.import_module(f'.{name}', __name__)
    msg = f'module {__name__!r} has no attribute {name!r}'
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted(set(__all__) | _SUBMODULES)
