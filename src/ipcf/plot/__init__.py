"""Figures of image series and pCF results (matplotlib).

Each function draws into `ax` when given, else into a new figure, and
returns the :class:`matplotlib.figure.Figure`. Figures are made without
pyplot, so they work in scripts, on servers and in Jupyter alike; show one
in a notebook by making it the cell's last expression, save it with
``fig.savefig('name.png')``.

Plots draw results; they never compute analyses (:func:`maps` draws what
:func:`ipcf.maps` returns), with one exception: :func:`curve_processing`
correlates the raw data of a single pixel pair to show what binning and
smoothing do to it.

Conventions shared by all functions:

- pixels are given as ``(y, x)`` in input pixel coordinates, the values of
  the result's ``y`` and ``x`` coordinates (the first is the radius);
- circle points and delays are indices into the result's ``point`` and
  ``delay`` dimensions;
- axes are in µm when a pixel size is known (the `pixel_size` argument or
  the result's ``pixel_size`` attribute), else in pixels, and delays in
  seconds when the frame interval ``dt`` is not 1, else in frames;
- colour maps are perceptually uniform; NaN (masked or undefined pixels)
  shows as light grey.

:func:`browse` shows an image series (frame slider) or a pCF result
(point, delay and pixel pickers) in Jupyter;
:func:`draw` picks a figure by kind for ``ipcf plot``. Figures of imaging
FCS and N&B results are in :mod:`ipcf.plot.fcs`, of line scans in
:mod:`ipcf.plot.line`, of the iMSD in :mod:`ipcf.plot.imsd`. The HTML report is
:mod:`ipcf.plot.report`, also available as ``ipcf.report``.

>>> import numpy
>>> from ipcf import plot
>>> plot.mean_image(numpy.ones((4, 4))).axes[0].get_xlabel()
'x (pixel)'

"""

from __future__ import annotations

from typing import Any

from ._dispatch import KINDS, draw
from .browser import browse
from .curves import carpet, curve_processing, lines, polar
from .fcs import acf_curve, brightness_scatter, fcs_maps, nb_maps
from .images import maps, pcf_image, pcf_map, summary
from .imsd import imsd_curve, imsd_maps, stics_images
from .line import pcf_carpet
from .series import intensity_trace, mean_image, roi, series_mean

__all__ = [
    'KINDS',
    'acf_curve',
    'brightness_scatter',
    'browse',
    'carpet',
    'curve_processing',
    'draw',
    'fcs_maps',
    'imsd_curve',
    'imsd_maps',
    'intensity_trace',
    'lines',
    'maps',
    'mean_image',
    'nb_maps',
    'pcf_carpet',
    'pcf_image',
    'pcf_map',
    'polar',
    'roi',
    'series_mean',
    'stics_images',
    'summary',
]


def __getattr__(name: str) -> Any:
    # the report builds on the figures, not they on it: load it on use
    if name == 'report':
        import importlib

        return importlib.import_module(f'{__name__}.report')
    msg = f'module {__name__!r} has no attribute {name!r}'
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted({*__all__, 'report'})
