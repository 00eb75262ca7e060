"""The *pCF analysis* dock widget: run the pCF on a layer, add the result.

:class:`PcfWidget` takes the radius, circle points, delay bins,
photobleaching correction and engine, and runs the image pCF on the
chosen image layer: on all of it, or on the centre pixels inside the
shapes of a shapes layer or the labels of a labels layer. The work runs
in a napari worker thread (:mod:`napari.qt.threading`) with a progress
bar and a cancel button; the result is added as the layers of
:func:`~ipcf.napari.result_layers`, and the *pCF of a pixel* panel is
docked to show the curves of the pixel clicked.

Two ways to run, chosen by the *store* field:

- empty (default): in memory, with :func:`ipcf.pcf_image` on the
  region's pixels (read from the layer, corrected with
  :func:`ipcf.bleach.correct`), a strip of rows at a time, so that the
  progress bar moves and a cancel stops after the current strip;
- a path (``.h5`` or ``.zarr``), for a layer read from a file: the
  blocked pipeline :func:`ipcf.analyze` on that file, block by block into
  the store; a cancel leaves an interrupted run that a second run with
  the same store and options resumes.

The pieces without Qt (:class:`Job`, :func:`run_job`,
:func:`region_mask`) can be used from scripts and tests.

"""

from __future__ import annotations

import dataclasses
import math
import queue
import threading
from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any

import numpy
from napari.layers import Image, Labels, Layer, Shapes
from napari.qt.threading import GeneratorWorker
from qtpy.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ._reader import result_layers

if TYPE_CHECKING:
    import napari
    import xarray
    from numpy.typing import NDArray

__all__ = ['Job', 'PcfWidget', 'region_mask', 'run_job']

Progress = tuple[int, int]
"""(done, total) of a running job: strips of rows, or blocks."""

BLEACH = ('none', 'filter:1024', 'filter:256', 'exp', 'exp2', 'poly:2')
"""Photobleaching corrections offered (the box is editable)."""

_WHOLE = 'whole layer'
# strips of rows of an in-memory run: enough for a moving bar and a
# prompt cancel, few enough that the halo rows read twice cost little
_STRIPS = 16
# blocks of a pipeline run, as ipcf.analyze's default
_BLOCK = 64
# seconds between looks at a pipeline run's progress
_POLL = 0.05
# pixels: shape edges through pixel centres include them
_EDGE = 1e-6


@dataclasses.dataclass
class Job:
    """What to compute: the series, the region and the pCF options.

    Attributes
    ----------
    data : array_like, shape (T, H, W)
        The series; read only inside the region.
    radius, npoints, nbins, engine :
        As for :func:`ipcf.pcf_image`; `npoints` None for the default
        circle of the radius.
    bleach : str
        Photobleaching correction ``METHOD[:param]``
        (:func:`ipcf.bleach.parse_method`), or ``'none'``.
    mask : ndarray of bool, shape (H, W), optional
        Centre pixels to analyse; the others are NaN.
    dt, pixel_size, psf_radius : float, optional
        Units of the series (s, µm, µm), recorded in the result.
    source : str, optional
        The file `data` was read from; needed with `output`.
    output : str, optional
        Result store: run :func:`ipcf.analyze` on `source` into it
        instead of computing in memory.
    num_threads : int, optional
        Threads; default all cores.

    """

    data: Any
    radius: int = 6
    npoints: int | None = 32
    nbins: int = 32
    bleach: str = 'none'
    engine: str = 'auto'
    mask: NDArray[numpy.bool_] | None = None
    dt: float | None = None
    pixel_size: float | None = None
    psf_radius: float | None = None
    source: str | None = None
    output: str | None = None
    num_threads: int | None = None


def run_job(
    job: Job, /, *, stop: threading.Event | None = None
) -> Generator[Progress, None, xarray.DataArray | None]:
    """Compute a job, yielding its progress; return the pCF result.

    A generator, as :class:`napari.qt.threading.GeneratorWorker` runs
    it: each ``(done, total)`` it yields is a point where the work may
    be stopped; its return value (``StopIteration.value``) is the result
    of :func:`ipcf.pcf_image` (in memory) or :func:`ipcf.load_result` of
    the store (with ``job.output``). The result's coordinates are input
    pixels of the whole series whatever the region.

    Parameters
    ----------
    job : Job
        The series, region and options.
    stop : threading.Event, optional
        Once set, the job stops at its next strip or block and returns
        None: a pipeline run keeps running in its own thread until then,
        even where this generator is no longer advanced.

    Yields
    ------
    (int, int)
        Strips of result rows (in memory) or blocks (pipeline) done, and
        their total.

    Raises
    ------
    ValueError, TypeError
        As :func:`ipcf.pcf_image` and :func:`ipcf.analyze` do, or if the
        mask has no centre pixel at least `radius` from the border.

    Examples
    --------
    >>> import numpy
    >>> data = numpy.random.default_rng(0).poisson(100, (64, 12, 12))
    >>> steps = run_job(Job(data, radius=2, npoints=8, nbins=8))
    >>> while True:
    ...     try:
    ...         done, total = next(steps)
    ...     except StopIteration as stop:
    ...         result = stop.value
    ...         break
    >>> done == total, result.shape
    (True, (8, 8, 8, 7))

    """
    stop = threading.Event() if stop is None else stop
    if job.output:
        return (yield from _run_pipeline(job, stop))
    return (yield from _run_strips(job, stop))


def region_mask(
    region: Layer, image: Layer, /, *, shape: Sequence[int] | None = None
) -> NDArray[numpy.bool_]:
    """Return the pixels of an image layer inside a shapes or labels layer.

    Parameters
    ----------
    region : napari.layers.Shapes or napari.layers.Labels
        Shapes (rectangles, polygons, ellipses; any drawn in world
        coordinates) or labels (non-zero pixels) marking the centres.
    image : napari.layers.Layer
        The layer whose pixel grid the mask is on.
    shape : sequence of int, optional
        ``(H, W)`` of the mask; default the last two axes of `image`.

    Returns
    -------
    ndarray of bool, shape (H, W)
        True at the pixels whose centre lies in a shape, or whose label is
        not zero.

    Raises
    ------
    TypeError
        If `region` is neither shapes nor labels.
    ValueError
        If a labels layer's last two axes are not ``(H, W)``.

    """
    if shape is None:
        shape = image.data.shape[-2:]
    height, width = (int(n) for n in shape[-2:])
    if isinstance(region, Labels):
        labels = numpy.asarray(region.data)
        if labels.shape[-2:] != (height, width):
            msg = (
                f'labels layer {region.name!r} is {labels.shape[-2:]}; the '
                f'image is {(height, width)}'
            )
            raise ValueError(msg)
        labels = labels.reshape(-1, height, width)
        return numpy.asarray((labels != 0).any(axis=0), dtype=numpy.bool_)
    if not isinstance(region, Shapes):
        msg = f'region must be a shapes or labels layer; got {region!r}'
        raise TypeError(msg)
    mask = numpy.zeros((height, width), dtype=numpy.bool_)
    rows, cols = numpy.mgrid[0:height, 0:width]
    centres = numpy.column_stack([rows.ravel(), cols.ravel()]).astype(float)
    for vertices, kind in zip(region.data, region.shape_type, strict=True):
        corners = _image_pixels(numpy.asarray(vertices), region, image)
        mask |= _inside(corners, kind, centres).reshape(height, width)
    return mask


class PcfWidget(QWidget):
    """Dock widget that runs the pCF on a layer (see the module).

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
        The viewer; napari passes it when the widget is opened from the
        plugin menu.

    Attributes
    ----------
    layer, region, radius, points, bins, bleach, engine, psf, store :
        The input widgets: the image layer, the region (shapes or labels
        layer, or the whole layer), the options, the PSF radius in µm
        (0: unknown; from the layer's metadata where it says) and the
        result store. The frame interval and pixel size come from the
        layer (its ipcf metadata, else its scale).
    run_button, cancel_button, progress, status :
        Buttons, progress bar and status line.
    worker : napari.qt.threading.GeneratorWorker or None
        The running job, if any.
    result : xarray.DataArray or None
        The last result.

    """

    def __init__(self, napari_viewer: napari.viewer.Viewer) -> None:
        from ..engines import available

        super().__init__()
        self.viewer = napari_viewer
        self.worker: GeneratorWorker | None = None
        self._stop = threading.Event()
        self.result: xarray.DataArray | None = None
        self.layers_added: list[Layer] = []

        self.layer = QComboBox()
        self.region = QComboBox()
        self.radius = _spin(1, 64, 6)
        self.points = _spin(0, 256, 32, step=2)
        self.points.setSpecialValueText('auto')
        self.points.setToolTip('circle points; auto: 4 round(√2 radius)')
        self.bins = _spin(2, 128, 32)
        self.bleach = QComboBox()
        self.bleach.setEditable(True)
        self.bleach.addItems(BLEACH)
        self.bleach.setToolTip('photobleaching correction METHOD[:param]')
        self.engine = QComboBox()
        self.engine.addItems(['auto', *available()])
        self.psf = QDoubleSpinBox()
        self.psf.setRange(0.0, 10.0)
        self.psf.setDecimals(3)
        self.psf.setSingleStep(0.01)
        self.psf.setSpecialValueText('unknown')
        self.psf.setToolTip(
            'PSF 1/e² radius in µm: with the pixel size, gives the maps'
        )
        self.store = QLineEdit()
        self.store.setPlaceholderText('in memory')
        self.store.setToolTip(
            'result store (.h5, .zarr) for ipcf.analyze on the layer file'
        )
        self.run_button = QPushButton('Run')
        self.cancel_button = QPushButton('Cancel')
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status = QLabel('')
        self.status.setWordWrap(True)

        form = QFormLayout()
        form.addRow('image', self.layer)
        form.addRow('region', self.region)
        form.addRow('radius (px)', self.radius)
        form.addRow('points', self.points)
        form.addRow('bins', self.bins)
        form.addRow('bleach', self.bleach)
        form.addRow('engine', self.engine)
        form.addRow('PSF radius (µm)', self.psf)
        form.addRow('store', self.store)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout()
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addStretch()
        self.setLayout(layout)

        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.layer.currentTextChanged.connect(self._suggest)
        events = self.viewer.layers.events
        for event in (events.inserted, events.removed, events.reordered):
            event.connect(self._refresh)
        self._refresh()

    # the public actions -------------------------------------------------

    def job(self) -> Job:
        """Return the job the widget's fields describe.

        Raises
        ------
        ValueError
            If no image layer is chosen, it is not ``(T, Y, X)``, or the
            region or store does not fit it.

        """
        layer = self._chosen(self.layer.currentText(), Image)
        if layer is None:
            msg = 'choose an image layer of a (T, Y, X) series'
            raise ValueError(msg)
        if layer.data.ndim != 3 or layer.rgb:
            msg = (
                f'layer {layer.name!r} has shape {layer.data.shape}; the '
                'pCF widget needs a (T, Y, X) series of one channel'
            )
            raise ValueError(msg)
        info = layer.metadata.get('ipcf', {})
        units = info.get('units', {})
        scale = tuple(float(s) for s in layer.scale)
        mask = None
        region = self.region.currentText()
        if region != _WHOLE:
            chosen = self._chosen(region, (Shapes, Labels))
            if chosen is None:
                msg = f'region layer {region!r} is gone'
                raise ValueError(msg)
            mask = region_mask(chosen, layer)
            if not mask.any():
                msg = f'region layer {region!r} marks no pixel of the image'
                raise ValueError(msg)
        output = self.store.text().strip() or None
        source = info.get('source')
        if output is not None and not isinstance(source, str):
            msg = (
                f'layer {layer.name!r} was not read from a file; clear the '
                'store to compute in memory'
            )
            raise ValueError(msg)
        points = self.points.value()
        return Job(
            layer.data,
            radius=self.radius.value(),
            npoints=points or None,
            nbins=self.bins.value(),
            bleach=self.bleach.currentText().strip() or 'none',
            engine=self.engine.currentText(),
            mask=mask,
            dt=units.get('frame_interval') or _known(scale[0]),
            pixel_size=units.get('pixel_size') or _known(scale[-1]),
            psf_radius=self.psf.value() or None,
            source=source if isinstance(source, str) else None,
            output=output,
        )

    def run(self) -> GeneratorWorker | None:
        """Start the job of the fields in a worker thread.

        Returns
        -------
        napari.qt.threading.GeneratorWorker or None
            The started worker; None where the fields do not describe a
            job (the status line says why) or a job is running.

        """
        from napari.qt.threading import create_worker

        if self.worker is not None:
            return None
        try:
            job = self.job()
        except (ValueError, TypeError) as exc:
            self._say(str(exc))
            return None
        name = self.layer.currentText()
        self._stop = threading.Event()
        worker = create_worker(
            run_job, job, stop=self._stop, _start_thread=False
        )
        worker.yielded.connect(self._on_progress)
        worker.returned.connect(lambda result: self._on_result(result, job))
        worker.errored.connect(self._on_error)
        worker.aborted.connect(self._on_aborted)
        worker.finished.connect(self._on_finished)
        self.worker = worker
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)  # busy until the first step
        self._say(f'computing the pCF of {name!r}')
        worker.start()
        return worker

    def cancel(self) -> None:
        """Stop the running job at its next strip or block."""
        if self.worker is not None:
            self._stop.set()
            self.worker.quit()
            self._say('cancelling')

    # worker callbacks (in the GUI thread) -------------------------------

    def _on_progress(self, step: Progress) -> None:
        done, total = step
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(min(done, total))

    def _on_result(self, result: xarray.DataArray | None, job: Job) -> None:
        from .._sources import source_of

        if result is None:  # stopped before the end
            self._on_aborted()
            return
        self.result = result
        name = f'{self.layer.currentText()} pCF'
        data = job.data if job.output is None else source_of(result)
        self.layers_added = []
        for values, kwargs, kind in result_layers(
            result, name=name, data=data
        ):
            layer = Layer.create(values, kwargs, kind)
            self.layers_added.append(self.viewer.add_layer(layer))
        self._say(
            f'{name}: {result.sizes["y"]}×{result.sizes["x"]} pixels, '
            f'{result.sizes["point"]} points, {result.sizes["delay"]} bins'
        )
        self._dock_panel()

    def _on_error(self, exc: Exception) -> None:
        self._say(f'failed: {exc}')

    def _on_aborted(self) -> None:
        text = 'cancelled'
        if self.store.text().strip():
            text += '; run again with the same store to resume'
        self._say(text)

    def _on_finished(self) -> None:
        self.worker = None
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1)

    # helpers ------------------------------------------------------------

    def _say(self, text: str) -> None:
        self.status.setText(text)

    def _chosen(self, name: str, kind: Any) -> Any:
        for layer in self.viewer.layers:
            if layer.name == name and isinstance(layer, kind):
                return layer
        return None

    def _refresh(self, event: Any = None) -> None:
        """List the image layers and the region layers of the viewer."""
        images = [
            layer.name
            for layer in self.viewer.layers
            if isinstance(layer, Image)
            and layer.metadata.get('ipcf', {}).get('kind') in (None, 'series')
        ]
        regions = [
            layer.name
            for layer in self.viewer.layers
            if isinstance(layer, (Shapes, Labels))
        ]
        _fill(self.layer, images)
        _fill(self.region, [_WHOLE, *regions])

    def _suggest(self, name: str) -> None:
        """Take a layer's PSF radius; offer the filter to long series."""
        layer = self._chosen(name, Image)
        if layer is None or layer.data.ndim != 3:
            return
        psf = _psf_radius(layer.metadata.get('ipcf', {}).get('units', {}))
        if psf is not None:
            self.psf.setValue(psf)
        frames = int(layer.data.shape[0])
        self.bleach.setCurrentText('filter:1024' if frames >= 8192 else 'none')

    def _dock_panel(self) -> None:
        """Dock the pixel panel, once, below the canvas where it is wide."""
        from ._panel import PixelPanel

        window = getattr(self.viewer, 'window', None)
        if window is None or _docked_panel(window) is not None:
            return
        window.add_dock_widget(
            PixelPanel(self.viewer), name='pCF of a pixel', area='bottom'
        )


# the computation, without Qt -------------------------------------------


def _run_strips(
    job: Job, stop: threading.Event
) -> Generator[Progress, None, xarray.DataArray | None]:
    """Compute a job in memory, a strip of result rows at a time."""
    import xarray

    from .. import bleach as _bleach
    from ..pcf import pcf_image

    height, width = (int(n) for n in job.data.shape[1:])
    radius = int(job.radius)
    y0, y1, x0, x1 = _centre_box(job.mask, height, width, radius)
    rows = y1 - y0
    count = min(_STRIPS, rows)
    step = math.ceil(rows / count)
    total = math.ceil(rows / step)
    yield (0, total)
    # the region's input: centres and their halo
    values = numpy.asarray(job.data[:, y0 - radius : y1 + radius,
                                    x0 - radius : x1 + radius])  # fmt: skip
    method, param = _bleach.parse_method(job.bleach)
    if method != 'none':
        values = _bleach.correct(
            values, method=method, param=param, num_threads=job.num_threads
        )
    mask = None
    if job.mask is not None:
        mask = job.mask[y0 - radius : y1 + radius, x0 - radius : x1 + radius]
    pieces = []
    for done, top in enumerate(range(0, rows, step), start=1):
        if stop.is_set():
            return None
        bottom = min(rows, top + step)
        part_mask = None
        if mask is not None:
            part_mask = mask[top : bottom + 2 * radius]
            if not part_mask[radius:-radius, radius:-radius].any():
                yield (done, total)
                continue
        piece = pcf_image(
            values[:, top : bottom + 2 * radius],
            radius=radius,
            npoints=job.npoints,
            nbins=job.nbins,
            dt=job.dt,
            pixel_size=job.pixel_size,
            psf_radius=job.psf_radius,
            mask=part_mask,
            engine=job.engine,
            num_threads=job.num_threads,
        )
        # strip coordinates -> input pixels of the whole series
        pieces.append(
            piece.assign_coords(
                y=piece['y'] + (y0 - radius + top),
                x=piece['x'] + (x0 - radius),
            )
        )
        yield (done, total)
    result = xarray.concat(pieces, dim='y', combine_attrs='override')
    result = result.reindex(y=numpy.arange(y0, y1), fill_value=numpy.nan)
    result.attrs.update(
        bleach=f'{method}:{param}' if method != 'none' else 'none',
        frames_total=int(job.data.shape[0]),
    )
    if job.source:
        result.attrs['source'] = job.source
    return result


def _run_pipeline(
    job: Job, stop: threading.Event
) -> Generator[Progress, None, xarray.DataArray | None]:
    """Run ipcf.analyze on the job's file; yield its blocks as they end."""
    from ..pipeline import analyze, plan_blocks
    from ..store import load_result

    height, width = (int(n) for n in job.data.shape[1:])
    radius = int(job.radius)
    y0, y1, x0, x1 = _centre_box(job.mask, height, width, radius)
    total = len(plan_blocks((y1 - y0, x1 - x0), _BLOCK))
    steps: queue.Queue[int] = queue.Queue()
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            with _block_counter(steps, stop):
                outcome['path'] = analyze(
                    job.source,
                    job.output,
                    radius=radius,
                    npoints=job.npoints,
                    nbins=job.nbins,
                    dt=job.dt,
                    bleach=job.bleach,
                    roi=(y0 - radius, y1 + radius, x0 - radius, x1 + radius),
                    mask=job.mask,
                    block=_BLOCK,
                    engine=job.engine,
                    num_threads=job.num_threads,
                    resume=True,
                )
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            outcome['error'] = exc

    # analyze blocks until done: it runs in a thread of its own so that
    # this generator can yield its progress and be stopped between blocks
    thread = threading.Thread(target=work, name='ipcf-analyze', daemon=True)
    done = 0
    try:
        thread.start()
        yield (done, total)
        while thread.is_alive() or not steps.empty():
            try:
                done += steps.get(timeout=_POLL)
            except queue.Empty:
                continue
            yield (min(done, total), total)
    finally:
        # closed early (the worker quit): let the thread stop too
        if thread.is_alive():
            stop.set()
    thread.join()
    if isinstance(outcome.get('error'), _Cancelled):
        return None
    if 'error' in outcome:
        raise outcome['error']
    yield (total, total)
    return load_result(outcome['path'])


class _Cancelled(Exception):
    """Raised in the pipeline's scheduler to stop it between blocks."""


def _block_counter(steps: queue.Queue, stop: threading.Event) -> Any:
    """Return a dask callback that counts the pipeline's finished blocks.

    It puts in `steps` the number of blocks each task recorded and
    raises :class:`_Cancelled`, which stops the scheduler, once `stop`
    is set.

    """
    from dask.callbacks import Callback

    def posttask(key, result, dsk, state, worker_id) -> None:
        # only ipcf's block tasks: other dask work (napari's lazy layers)
        # runs under the same callbacks while this one is active
        name = key[0] if isinstance(key, tuple) else key
        if not str(name).startswith('_compute_block'):
            return
        steps.put(getattr(result, 'count', 1))
        if stop.is_set():
            raise _Cancelled

    return Callback(posttask=posttask)


def _centre_box(
    mask: NDArray[numpy.bool_] | None, height: int, width: int, radius: int
) -> tuple[int, int, int, int]:
    """Return y0, y1, x0, x1 of the centre pixels a job analyses."""
    y0, y1, x0, x1 = radius, height - radius, radius, width - radius
    if y1 <= y0 or x1 <= x0:
        msg = (
            f'radius={radius} leaves no centre pixel in {height}x{width} '
            'images'
        )
        raise ValueError(msg)
    if mask is None:
        return y0, y1, x0, x1
    inner = numpy.zeros_like(mask)
    inner[y0:y1, x0:x1] = mask[y0:y1, x0:x1]
    rows = numpy.flatnonzero(inner.any(axis=1))
    cols = numpy.flatnonzero(inner.any(axis=0))
    if rows.size == 0:
        msg = (
            f'the region has no pixel at least radius={radius} pixels from '
            'the border of the image'
        )
        raise ValueError(msg)
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _image_pixels(vertices: NDArray, region: Layer, image: Layer) -> NDArray:
    """Return shape vertices in (y, x) pixels of the image layer."""
    out = []
    for vertex in vertices:
        world = region.data_to_world(vertex)
        pixel = image.world_to_data(world)
        out.append(numpy.asarray(pixel, dtype=float)[-2:])
    return numpy.asarray(out)


def _inside(corners: NDArray, kind: str, points: NDArray) -> NDArray:
    """Return which points (y, x) lie inside one shape."""
    from matplotlib.path import Path as Polygon

    if kind == 'ellipse':
        centre = corners.mean(axis=0)
        half = numpy.abs(corners - centre).max(axis=0)
        half[half == 0] = 1e-9
        return (((points - centre) / half) ** 2).sum(axis=1) <= 1.0
    if kind in ('line', 'path'):
        return numpy.zeros(len(points), dtype=bool)
    if kind == 'rectangle':  # pixel centres on the edge count as inside
        low = corners.min(axis=0) - _EDGE
        high = corners.max(axis=0) + _EDGE
        return ((points >= low) & (points <= high)).all(axis=1)
    polygon = Polygon(corners)
    # the sign of the tolerance that widens a path depends on its winding
    return polygon.contains_points(points, radius=_EDGE) | (
        polygon.contains_points(points, radius=-_EDGE)
    )


def _psf_radius(units: dict[str, Any]) -> float | None:
    value = units.get('psf_radius') if isinstance(units, dict) else None
    if isinstance(value, int | float) and value > 0:
        return float(value)
    return None


def _known(scale: float) -> float | None:
    """Return a layer's scale as a unit, or None where it is the default."""
    return None if scale == 1.0 else float(scale)


def _spin(low: int, high: int, value: int, *, step: int = 1) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setValue(value)
    return box


def _fill(combo: QComboBox, names: list[str]) -> None:
    """Replace the items of a combo box, keeping the current one."""
    current = combo.currentText()
    combo.blockSignals(True)
    combo.clear()
    combo.addItems(names)
    if current in names:
        combo.setCurrentText(current)
    combo.blockSignals(False)
    if combo.currentText() != current:
        combo.currentTextChanged.emit(combo.currentText())


def _docked_panel(window: Any) -> Any:
    from ._panel import PixelPanel

    for widget in getattr(window, 'dock_widgets', {}).values():
        if isinstance(widget, PixelPanel):
            return widget
    return None
