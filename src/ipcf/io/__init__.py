"""Read and write image time series of shape ``(T, H, W)``.

Supported formats, chosen by the path's suffix:

- raw ``.bin`` (or ``.raw``): frames stored contiguously, little-endian,
  with a JSON sidecar ``<file>.json`` holding shape, dtype and metadata;
- TIFF ``.tif``/``.tiff``: one multi-page, OME- or BigTIFF file;
- TIFF series: a directory of TIFF files, a glob pattern, or a list of
  files, each one 2-D frame (natural sort: ``frame10`` follows ``frame9``);
- HDF5 ``.h5``/``.hdf5``/``.hdf``: one 3-D dataset, ``data`` by default;
- zarr ``.zarr``: a zarr array or a group holding one, ``data`` by default;
  of an OME-Zarr (NGFF) group, the first resolution level.

:func:`read_metadata` gives the metadata ipcf stored and, beneath them,
the pixel sizes, frame interval and channels that OME-TIFF, ImageJ TIFF
and OME-Zarr files declare (:mod:`~ipcf.io._units`).

:func:`open_series` returns a lazy array-like that reads only what a slice
needs; :func:`imwrite` and :func:`imwrite_series` write atomically, frame
block by frame block, so memory stays bounded for lazy inputs.

The modules, one topic each: :mod:`~ipcf.io.read` (open any source,
metadata, summaries), :mod:`~ipcf.io.write` (:func:`imwrite`),
:mod:`~ipcf.io.raw`, :mod:`~ipcf.io.tiff` and :mod:`~ipcf.io.stores`
(the formats, each read and written), :mod:`~ipcf.io.metadata` (JSON
metadata and raw sidecars). h5py, zarr and tifffile are imported when a
file of theirs is first opened.

>>> import pathlib, tempfile, numpy
>>> tmp = tempfile.TemporaryDirectory()
>>> data = numpy.arange(24, dtype=numpy.uint16).reshape(2, 3, 4)
>>> path = imwrite(pathlib.Path(tmp.name) / 'movie.h5', data)
>>> series = open_series(path)
>>> series.shape, int(series[1, 2, 3])
((2, 3, 4), 23)
>>> del series
>>> tmp.cleanup()

"""

from __future__ import annotations

from .read import imread, info, open_frames, open_series, read_metadata
from .series import Series, SeriesMetadata
from .tiff import TiffSeries, imwrite_series
from .write import imwrite

__all__ = [
    'Series',
    'SeriesMetadata',
    'TiffSeries',
    'imread',
    'imwrite',
    'imwrite_series',
    'info',
    'open_frames',
    'open_series',
    'read_metadata',
]
