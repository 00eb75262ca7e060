"""Pair correlation between the elements of a detector array.

Array detectors (a 5×5 SPAD array, the 32 elements of a Zeiss Airyscan)
see one spot of a confocal microscope through many small detection
volumes side by side. The cross-correlation of two elements a distance
apart is a pair correlation, as between two pixels of an image:
:func:`pcf_detectors` returns the curves of every ordered pair of
elements (the autocorrelations included), and their averages over the
groups of pairs at equal distance; :func:`fit_detectors` fits the
diffusion coefficient and the spot radius to the groups with the
free-diffusion model, as the SPAD-array FCS papers do [1]_.

Positions are the centres of the elements' detection volumes in the
sample plane, in µm. For a confocal array the volume of an element whose
image of the sample lies at ``p`` is centred near ``p / 2`` (the shift
that pixel reassignment undoes), so the spacing to give is about half
the element pitch projected into the sample.

Presets (:func:`detector_positions`):

``'square5'``
    25 elements on a square grid, numbered row by row from the top-left,
    x to the right and y downward; element 12 is the centre.
``'airyscan32'``
    The 32 elements of the Airyscan on a hexagonal lattice of spacing
    `pitch`, numbered as the microscope numbers its channels [2]_:
    element 0 at the centre, 1..6 the first ring (1 up and to the right,
    then counter-clockwise as displayed: 2 up-left, 3 left, 4 down-left,
    5 down-right, 6 right), 7..18 the second ring, starting to the right
    of 1 and turning the same way (its corners 8, 10, ..., 18 at twice
    the spacing, its edges at sqrt(3) times it), and 19..31 thirteen
    of the third ring: the twelve at sqrt(7) times the spacing, from
    19 next to 7 around to 30, and the corner 31 to the right of 18.
    Rows of the lattice are ``sqrt(3) / 2`` of the spacing apart and
    every other row is shifted by half of it.

References
----------
.. [1] Slenders E, Castello M, Buttafava M, et al. Confocal-based
   fluorescence fluctuation spectroscopy with a SPAD array detector.
   Light Sci Appl 10: 31 (2021).
.. [2] Scipioni L, Lanzanò L, Diaspro A, Gratton E. Comprehensive
   correlation analysis for super-resolution dynamic fingerprinting of
   cellular compartments using the Zeiss Airyscan detector. Nat Commun
   9: 5120 (2018).

"""

from __future__ import annotations

import math
import os
import pathlib
from typing import TYPE_CHECKING, Any

import numpy

from ._utils import number_threads
from ._validate import (
    check_bool,
    check_choice,
    check_int,
    check_positive,
    check_real,
    check_series,
)
from .plan import bin_delays, logbins

if TYPE_CHECKING:
    import xarray
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    'PRESETS',
    'detector_positions',
    'fit_detectors',
    'pcf_detectors',
    'read_detectors',
    'read_positions',
]

PRESETS = ('square5', 'airyscan32')
"""Names of the detector layouts :func:`detector_positions` knows."""

MIN_FRAMES = 16
"""Fewest samples :func:`pcf_detectors` accepts."""

# Airyscan elements on the hexagonal lattice: (column, row), columns in
# half spacings (rows alternate between even and odd columns), rows of
# sqrt(3)/2 spacings, y downward; element k is entry k
_AIRYSCAN = (
    (0, 0),
    (1, -1), (-1, -1), (-2, 0), (-1, 1), (1, 1), (2, 0),
    (3, -1), (2, -2), (0, -2), (-2, -2), (-3, -1), (-4, 0),
    (-3, 1), (-2, 2), (0, 2), (2, 2), (3, 1), (4, 0),
    (5, -1), (4, -2), (1, -3), (-1, -3), (-4, -2), (-5, -1),
    (-5, 1), (-4, 2), (-1, 3), (1, 3), (4, 2), (5, 1), (6, 0),
)  # fmt: skip


def detector_positions(
    preset: str, /, *, pitch: float
) -> NDArray[numpy.float64]:
    """Return the element centres of a named detector layout, in µm.

    Parameters
    ----------
    preset : {'square5', 'airyscan32'}
        Layout; see :mod:`ipcf.detectors`.
    pitch : float
        Distance between neighbouring elements' detection volumes in the
        sample, µm, > 0.

    Returns
    -------
    ndarray, shape (ndet, 2), float64
        ``(x, y)`` of each element, the array centred at (0, 0), y
        downward.

    Examples
    --------
    >>> detector_positions('square5', pitch=0.1)[[0, 12, 24]].tolist()
    [[-0.2, -0.2], [0.0, 0.0], [0.2, 0.2]]
    >>> hexagon = detector_positions('airyscan32', pitch=1.0)
    >>> numpy.hypot(*hexagon[[1, 7, 8, 19, 31]].T).round(3).tolist()
    [1.0, 1.732, 2.0, 2.646, 3.0]

    """
    preset = check_choice(preset, 'preset', PRESETS)
    pitch = check_positive(pitch, 'pitch')
    if preset == 'square5':
        row, column = numpy.divmod(numpy.arange(25), 5)
        grid = numpy.stack([column - 2, row - 2], axis=1)
        return grid.astype(numpy.float64) * pitch
    lattice = numpy.asarray(_AIRYSCAN, numpy.float64)
    scale = numpy.array([0.5, math.sqrt(3.0) / 2.0]) * pitch
    return lattice * scale


def read_detectors(
    source: Any,
    /,
    *,
    key: str | None = None,
    channel: int | None = None,
    z: int | None = None,
) -> tuple[NDArray[Any], dict[str, Any]]:
    """Return the counts ``(T, ndet)`` of a detector-array file and metadata.

    Parameters
    ----------
    source : str, os.PathLike or array_like
        The counts of every element over time, by kind:

        - a ``.npy`` file or an array of shape ``(T, ndet)``;
        - an HDF5 or zarr dataset ``(T, ndet)``: the one named `key`,
          else ``'data'``, else the only 3-D one;
        - a TIFF of one 2-D page ``(T, ndet)``;
        - any series :func:`ipcf.io.open_series` opens (TIFF, SimFCS,
          what :meth:`ipcf.simulate.Simulation.save` writes): frames of
          ``(1, ndet)``, or images ``(H, W)`` of the elements, taken row
          by row (the numbering of ``'square5'``).
    key, channel, z : optional
        The dataset of a store and the plane of a multi-dimensional
        file, as for :func:`ipcf.io.open_series`.

    Returns
    -------
    counts : ndarray, shape (T, ndet)
        Read into memory (a ``.npy`` file is memory-mapped).
    metadata : dict
        What the file records (:func:`ipcf.io.read_metadata`): the truth
        of a simulation, with ``positions`` (µm) and ``sample_time`` (s);
        empty for arrays and ``.npy`` files.

    Raises
    ------
    FileNotFoundError
        If `source` does not exist.
    ValueError
        If the data are not ``(T, ndet)`` or a series of frames.

    Examples
    --------
    >>> counts, metadata = read_detectors(numpy.zeros((64, 32), numpy.uint16))
    >>> counts.shape, metadata
    ((64, 32), {})

    """
    from . import io
    from ._files import file_kind
    from .line import _tiff_page

    if not isinstance(source, str | os.PathLike):
        if isinstance(source, io.Series):
            return _elements(source, repr(source)), {}
        if not hasattr(source, 'shape') or not hasattr(source, 'dtype'):
            source = numpy.asarray(source)
        return _elements(source, 'data'), {}
    path = pathlib.Path(source)
    name = repr(os.fspath(source))
    if not path.exists():
        msg = f'{name}: no such file or directory'
        raise FileNotFoundError(msg)
    if path.suffix.lower() == '.npy':
        return _elements(numpy.load(path, mmap_mode='r'), name), {}
    kind = file_kind(path)
    if kind == 'tiff':
        page = _tiff_page(path)
        if page is not None:
            return _elements(page, name), io.read_metadata(path)
    if kind in {'hdf5', 'zarr'} and channel is None and z is None:
        from .io.stores import open_dataset, store_metadata

        # (T, ndet) datasets: named, or 'data'; 3-D ones as series
        try:
            array = open_dataset(path, kind, key=key or 'data', name=name)
        except ValueError:
            if key is not None:
                raise
        else:
            metadata = store_metadata(path, kind, key=key or 'data')
            return _elements(array, name), metadata
    series = io.open_series(path, key=key, channel=channel, z=z)
    metadata = io.read_metadata(path, key=key)
    return _elements(series, name), metadata


def _elements(data: Any, name: str) -> NDArray[Any]:
    """Return data ``(T, ndet)``, or ``(T, H, W)`` as ``(T, H * W)``."""
    shape = tuple(int(n) for n in data.shape)
    if len(shape) == 2:
        return data if isinstance(data, numpy.ndarray) else data[:]
    if len(shape) == 3:
        return numpy.asarray(data[:]).reshape(shape[0], -1)
    msg = (
        f'{name} holds data of shape {shape}; expected the counts (T, ndet) '
        'of the detector elements, or frames (T, H, W) of them'
    )
    raise ValueError(msg)


def read_positions(path: str | os.PathLike[str], /) -> NDArray[numpy.float64]:
    """Return detector positions ``(ndet, 2)`` in µm from a file.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.npy`` file of shape ``(ndet, 2)``, or a text file (``.csv``
        and others) of one element per line: ``x, y`` separated by a
        comma or spaces; a first line that is not numbers (a header)
        and lines starting with ``#`` are skipped.

    Returns
    -------
    ndarray, shape (ndet, 2), float64
        Centres ``(x, y)`` of the elements in µm, y downward.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If it cannot be read or does not hold (ndet, 2) finite numbers.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp, 'xy.csv')
    ...     numpy.savetxt(path, [[0, 0], [0.1, 0]], delimiter=',',
    ...                   header='x,y')
    ...     read_positions(path).tolist()
    [[0.0, 0.0], [0.1, 0.0]]

    """
    path = pathlib.Path(path)
    name = repr(os.fspath(path))
    if not path.is_file():
        msg = f'positions file not found: {name}'
        raise FileNotFoundError(msg)
    try:
        if path.suffix.lower() == '.npy':
            values = numpy.load(path, allow_pickle=False)
        else:
            values = _text_table(path.read_text())
        values = numpy.asarray(values, dtype=numpy.float64)
    except (OSError, ValueError, TypeError, UnicodeDecodeError) as exc:
        text = ' '.join(str(exc).split()) or type(exc).__name__
        msg = f'cannot read the positions {name}: {text}'
        raise ValueError(msg) from exc
    if values.ndim != 2 or values.shape[1] != 2 or not len(values):
        msg = (
            f'the positions {name} have shape {values.shape}; expected '
            '(ndet, 2): x, y of each element in µm'
        )
        raise ValueError(msg)
    if not numpy.isfinite(values).all():
        msg = f'the positions {name} hold NaN or infinite values'
        raise ValueError(msg)
    return values


def _text_table(text: str) -> list[list[float]]:
    """Return the rows of numbers of a CSV or whitespace table."""
    rows = []
    for number, line in enumerate(text.splitlines()):
        line = line.split('#', 1)[0].strip()
        if not line:
            continue
        fields = line.replace(',', ' ').replace(';', ' ').split()
        try:
            rows.append([float(v) for v in fields])
        except ValueError:
            if rows or number > 0:
                msg = f'line {number + 1} is not numbers: {line!r}'
                raise ValueError(msg) from None
    return rows


def pcf_detectors(
    data: ArrayLike,
    positions: ArrayLike | str,
    *,
    pitch: float | None = None,
    nbins: int = 32,
    dt: float = 1.0,
    truncate: bool = True,
    mode: str = 'circular',
    tolerance: float = 1e-3,
    segments: int = 8,
    engine: str = 'auto',
    num_threads: int | None = None,
) -> xarray.Dataset:
    """Return the pCF of every pair of elements of a detector array.

    Parameters
    ----------
    data : array_like, shape (T, ndet)
        Photon counts or intensities of each element over time.
    positions : array_like, shape (ndet, 2), or str
        Element centres ``(x, y)`` in µm, or a preset name of
        :func:`detector_positions` (then `pitch` is needed).
    pitch : float, optional
        Element spacing in µm for a preset; not used otherwise.
    nbins : int, optional, default: 32
        Log delay bins requested, at least 2.
    dt : float, optional, default: 1.0
        Sampling interval in seconds.
    truncate : bool, optional, default: True
        Use the first ``2**floor(log2(T))`` samples. Else use all.
    mode : {'circular', 'linear'}, optional
        Circular (default) or zero-padded linear correlation.
    tolerance : float, optional, default: 1e-3
        Distances (µm) closer than this form one group.
    segments : int, optional, default: 8
        Also average the groups in this many consecutive segments of the
        samples used, each analysed on its own, for the errors of
        :func:`fit_detectors`; 0 for none. Each segment needs at least
        16 samples.
    engine : {'auto', 'reference', 'cpu', 'gpu'}, optional
        Implementation, as for :func:`ipcf.line.pcf_line`.
    num_threads : int, optional
        Threads; None uses all cores.

    Returns
    -------
    xarray.Dataset
        ``pcf`` (float32, dims ``('centre', 'neighbour', 'delay')``):
        the curve from each element toward each other one (the
        diagonal: autocorrelations); ``grouped`` (dims ``('group',
        'delay')``): the mean of the curves of all ordered pairs at one
        distance, with coordinates ``group_distance`` (µm) and
        ``pairs``; ``positions`` (dims ``('detector', 'axis')``); with
        `segments`, ``segment_grouped`` (dims ``('segment', 'group',
        'segment_delay')``): the groups of each segment, on the log bins
        of its ``segment_frames`` samples. The ``distance`` coordinate
        holds each pair's distance; ``delay`` is in seconds. ``attrs``
        hold the options, ``frames`` and the engine.

    Notes
    -----
    Each curve is SPEC's pair curve: ``<a(t) b(t + tau)> / (<a> <b>) -
    1`` over the N samples used, log-binned and smoothed. The curves are
    computed as a periodic line of elements (:func:`ipcf.line.pcf_line`),
    so every engine of the image pCF serves them.

    Examples
    --------
    >>> counts = numpy.random.default_rng(0).poisson(5, (512, 25))
    >>> result = pcf_detectors(counts, 'square5', pitch=0.1, nbins=8)
    >>> result['pcf'].shape
    (25, 25, 8)
    >>> result['group_distance'].values[:4].round(4).tolist()
    [0.0, 0.1, 0.1414, 0.2]
    >>> result['pairs'].values[:3].tolist()
    [25, 80, 64]

    """
    import xarray

    from . import __version__
    from .line import _engine, line_values

    data, shape = check_series(
        data, ndim=2, axes='(samples, detectors)', min_frames=MIN_FRAMES
    )
    nsamples, ndet = shape
    if isinstance(positions, str):
        if pitch is None:
            msg = f'positions={positions!r} is a preset: give its pitch (µm)'
            raise ValueError(msg)
        preset = positions
        positions = detector_positions(preset, pitch=pitch)
    else:
        preset = None
        positions = numpy.asarray(positions, dtype=numpy.float64)
        if not numpy.isfinite(positions).all():
            msg = 'positions hold NaN or infinite values'
            raise ValueError(msg)
    if positions.shape != (ndet, 2):
        msg = (
            f'positions.shape={positions.shape} does not match the {ndet} '
            'detectors of data: expected (ndet, 2) centres (x, y) in µm'
        )
        raise ValueError(msg)
    nbins = check_int(nbins, 'nbins', minimum=2)
    dt = check_positive(dt, 'dt')
    truncate = check_bool(truncate, 'truncate')
    mode = check_choice(mode, 'mode', ('circular', 'linear'))
    tolerance = check_real(tolerance, 'tolerance', minimum=0.0)
    segments = check_int(segments, 'segments', minimum=0)
    num_threads = number_threads(num_threads)
    compute = _engine(engine)

    nframes = 2 ** int(math.log2(nsamples)) if truncate else nsamples
    length = nframes // segments if segments else 0
    if segments and length < MIN_FRAMES:
        msg = (
            f'{segments=} leaves {length} samples per segment of the '
            f'{nframes} used; at least {MIN_FRAMES} are needed (or pass '
            'segments=0)'
        )
        raise ValueError(msg)
    options = {
        'mode': mode,
        'periodic': True,
        'mask': None,
        'engine': compute,
        'num_threads': num_threads,
    }
    edges = tuple(int(e) for e in logbins(nframes // 2, nbins))
    # element j is offset (j - i) mod ndet from element i on a periodic line
    shifts = numpy.arange(ndet, dtype=numpy.intp)
    values = line_values(
        data, shifts, nframes=nframes, edges=edges, **options
    )[0]
    centre = numpy.arange(ndet)[:, None]
    neighbour = numpy.arange(ndet)[None, :]
    curves = values[centre, (neighbour - centre) % ndet]
    delta = positions[None, :, :] - positions[:, None, :]
    distance = numpy.hypot(delta[..., 0], delta[..., 1])
    labels, group_distance = _groups(distance, tolerance)
    ngroups = len(group_distance)
    pairs = numpy.bincount(labels.ravel(), minlength=ngroups)

    def grouped(curves: NDArray[numpy.float32]) -> NDArray[numpy.float32]:
        nbins = curves.shape[-1]
        sums = numpy.zeros((ngroups, nbins))
        numpy.add.at(sums, labels.ravel(), curves.reshape(-1, nbins))
        return (sums / pairs[:, None]).astype(numpy.float32)

    group = grouped(curves)
    delay = bin_delays(edges) * dt
    variables = {
        'pcf': (('centre', 'neighbour', 'delay'), curves),
        'grouped': (('group', 'delay'), group),
        'positions': (('detector', 'axis'), positions),
    }
    extra: dict[str, Any] = {}
    if segments:
        # the spread of the segments' fits is the error of the whole fit
        segment_edges = tuple(int(e) for e in logbins(length // 2, nbins))
        parts = []
        for k in range(segments):
            part = data[k * length : (k + 1) * length]
            found = line_values(
                part, shifts, nframes=length, edges=segment_edges, **options
            )[0]
            parts.append(grouped(found[centre, (neighbour - centre) % ndet]))
        variables['segment_grouped'] = (
            ('segment', 'group', 'segment_delay'),
            numpy.stack(parts),
        )
        extra = {
            'segment': numpy.arange(segments),
            'segment_delay': bin_delays(segment_edges) * dt,
            'segment_bin_edge': (
                'segment_delay',
                numpy.asarray(segment_edges),
            ),
        }
    return xarray.Dataset(
        variables,
        coords={
            **extra,
            'centre': numpy.arange(ndet),
            'neighbour': numpy.arange(ndet),
            'distance': (('centre', 'neighbour'), distance),
            'group_index': (('centre', 'neighbour'), labels),
            'group': numpy.arange(ngroups),
            'group_distance': ('group', group_distance),
            'pairs': ('group', pairs),
            'axis': ['x', 'y'],
            'delay': delay,
            'bin_edge': ('delay', numpy.asarray(edges)),
        },
        attrs={
            'kind': 'detectors',
            'preset': preset or '',
            'dt': dt,
            'nbins': nbins,
            'frames': nframes,
            'frames_total': nsamples,
            'truncate': truncate,
            'mode': mode,
            'tolerance': tolerance,
            'segments': segments,
            'segment_frames': length,
            'engine': getattr(compute, 'NAME', 'reference'),
            'version': __version__,
        },
    )


def _groups(
    distance: NDArray[numpy.float64], tolerance: float
) -> tuple[NDArray[numpy.intp], NDArray[numpy.float64]]:
    """Return each pair's group and the mean distance of each group.

    Sorted distances start a new group where they step by more than
    `tolerance`.

    >>> labels, means = _groups(numpy.array([[0.0, 1.0], [1.0, 0.0]]), 1e-3)
    >>> labels.tolist(), means.tolist()
    ([[0, 1], [1, 0]], [0.0, 1.0])

    """
    flat = distance.ravel()
    order = numpy.argsort(flat, kind='stable')
    steps = numpy.diff(flat[order]) > tolerance
    sorted_labels = numpy.concatenate([[0], numpy.cumsum(steps)])
    labels = numpy.empty(flat.size, numpy.intp)
    labels[order] = sorted_labels
    count = numpy.bincount(labels)
    means = numpy.bincount(labels, weights=flat) / count
    return labels.reshape(distance.shape), means


def fit_detectors(
    result: xarray.Dataset,
    /,
    *,
    w: float | None = None,
    autocorrelation: bool = False,
    max_distance: float | None = None,
) -> dict[str, Any]:
    """Fit free diffusion to the distance groups of a detector-array pCF.

    Parameters
    ----------
    result : xarray.Dataset
        What :func:`pcf_detectors` returns.
    w : float, optional
        1/e² radius of the detection volumes in µm, > 0; None (default)
        fits it.
    autocorrelation : bool, optional, default: False
        Also fit the group at distance 0 (the autocorrelations, which
        carry each element's shot noise and afterpulsing at short
        delays).
    max_distance : float, optional
        Fit only groups up to this distance in µm.

    Returns
    -------
    dict
        ``diffusion`` (µm²/s), ``w`` (µm), ``amplitude``, ``cost``,
        ``model`` (the fitted curves, ``(groups, bins)``), ``groups``
        (the indices fitted), ``diffusion_error`` and ``w_error``
        (standard errors in µm²/s and µm, None if the result has no
        segments; ``w_error`` is also None where `w` is given).

    Notes
    -----
    All groups are fitted together with ``G(tau) = A w² / (w² + 4 D
    tau) exp(-d² / (w² + 4 D tau))`` (2-D diffusion, Gaussian volumes of
    equal radius), pushed through the estimator's mean subtraction, the
    log bins and the smoothing of the data; each group weighs by the
    number of pairs it averages.

    The errors come from the segments of the result
    (:func:`pcf_detectors`, `segments`): each is fitted in the same way
    and the standard deviation of their D (and w) over the square root
    of their number is the standard error of the whole fit. The curves
    of neighbouring bins and of pairs that share elements are
    correlated, so the errors of a least-squares fit to one curve set
    would understate the spread over repeated measurements; the
    segments are independent stretches of the measurement.

    Examples
    --------
    >>> counts = numpy.random.default_rng(0).poisson(5, (512, 25))
    >>> result = pcf_detectors(counts, 'square5', pitch=0.1, nbins=8)
    >>> fit = fit_detectors(result, w=0.2)
    >>> fit['groups'][:3]
    [1, 2, 3]

    """
    from ._pair_model import fit_free

    if w is not None:
        w = check_positive(w, 'w')
    autocorrelation = check_bool(autocorrelation, 'autocorrelation')
    distance = result['group_distance'].values
    chosen = distance >= 0.0 if autocorrelation else distance > 0.0
    if max_distance is not None:
        max_distance = check_positive(max_distance, 'max_distance')
        chosen &= distance <= max_distance
    groups = numpy.flatnonzero(chosen)
    if groups.size == 0:
        msg = 'no group of pairs to fit; raise max_distance'
        raise ValueError(msg)
    curves = result['grouped'].values[groups].astype(numpy.float64)
    options = {
        'edges': tuple(int(e) for e in result['bin_edge'].values),
        'frames': int(result.attrs['frames']),
        'mode': str(result.attrs['mode']),
        'dt': float(result.attrs['dt']),
    }
    weights = result['pairs'].values[groups].astype(numpy.float64)
    fit = fit_free(curves, distance[groups], w=w, weights=weights, **options)
    fit['groups'] = groups.tolist()
    fit['diffusion_error'], fit['w_error'] = _segment_errors(
        result, groups, w=w, weights=weights
    )
    return fit


def _segment_errors(
    result: xarray.Dataset,
    groups: NDArray[numpy.intp],
    *,
    w: float | None,
    weights: NDArray[numpy.float64],
) -> tuple[float | None, float | None]:
    """Return the standard errors of D and w from the segments' fits.

    Each segment is fitted as the whole; the standard error of the whole
    fit is the standard deviation of the segments' values over the
    square root of their number. None where the result has no segments
    (w's error also where w is given); NaN where fewer than two segments
    could be fitted.

    """
    from ._pair_model import fit_free

    if 'segment_grouped' not in result:
        return None, None
    options = {
        'edges': tuple(int(e) for e in result['segment_bin_edge'].values),
        'frames': int(result.attrs['segment_frames']),
        'mode': str(result.attrs['mode']),
        'dt': float(result.attrs['dt']),
    }
    distance = result['group_distance'].values[groups]
    found = []
    for part in result['segment_grouped'].values:
        curves = part[groups].astype(numpy.float64)
        if not numpy.isfinite(curves).all():
            continue  # an element without photons in this segment
        fit = fit_free(curves, distance, w=w, weights=weights, **options)
        found.append((fit['diffusion'], fit['w']))
    if len(found) < 2:
        return math.nan, (None if w is not None else math.nan)
    values = numpy.asarray(found)
    errors = values.std(axis=0, ddof=1) / math.sqrt(len(values))
    return float(errors[0]), (None if w is not None else float(errors[1]))
