"""napari plugin: open series and pCF results, run the pCF, inspect pixels.

Installed with ``pip install "ipcf[napari]"`` and found by napari through
the manifest ``napari.yaml`` beside this file (the ``napari.manifest``
entry point). It contributes

- a reader (:mod:`~ipcf.napari._reader`) of every series ipcf reads, with
  its frame interval and pixel size as the layer scale, and of ipcf
  result stores: the pCF with sliders for circle point and delay, the
  maps as images and the flow as arrows;
- the *pCF analysis* widget (:class:`~ipcf.napari._widget.PcfWidget`):
  radius, points, bins, photobleaching correction, engine and PSF
  radius, run on an image layer (all of it, or the centres inside a
  shapes or labels layer) in a worker thread with progress and cancel,
  in memory with :func:`ipcf.pcf_image` or, given a store, with
  :func:`ipcf.analyze` on the layer's file; the result is added as
  layers;
- the *pCF of a pixel* panel (:class:`~ipcf.napari._panel.PixelPanel`):
  the carpet, polar plot, curves and raw, binned and smoothed curve of
  the pixel last clicked, drawn by :mod:`ipcf.plot`.

The reader needs neither napari nor Qt; the widget and the panel need
both, and are imported only when napari asks for them.

"""

from __future__ import annotations

__all__ = ['get_reader', 'read_result', 'read_series', 'result_layers']

from ._reader import get_reader, read_result, read_series, result_layers
