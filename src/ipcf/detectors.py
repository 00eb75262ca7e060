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
        ``pairs``; ``positions`` (dims ``('detector', 'axis')``). The
        ``distance`` coordinate holds each pair's distance; ``delay`` is
        in seconds. ``attrs`` hold the options, ``frames`` and the
        engine.

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
    num_threads = number_threads(num_threads)
    compute = _engine(engine)

    nframes = 2 ** int(math.log2(nsamples)) if truncate else nsamples
    edges = tuple(int(e) for e in logbins(nframes // 2, nbins))
    # element j is offset (j - i) mod ndet from element i on a periodic line
    shifts = numpy.arange(ndet, dtype=numpy.intp)
    values = line_values(
        data,
        shifts,
        nframes=nframes,
        edges=edges,
        mode=mode,
        periodic=True,
        mask=None,
        engine=compute,
        num_threads=num_threads,
    )[0]
    centre = numpy.arange(ndet)[:, None]
    neighbour = numpy.arange(ndet)[None, :]
    curves = values[centre, (neighbour - centre) % ndet]
    delta = positions[None, :, :] - positions[:, None, :]
    distance = numpy.hypot(delta[..., 0], delta[..., 1])
    labels, group_distance = _groups(distance, tolerance)
    ngroups = len(group_distance)
    pairs = numpy.bincount(labels.ravel(), minlength=ngroups)
    sums = numpy.zeros((ngroups, len(edges)))
    numpy.add.at(sums, labels.ravel(), curves.reshape(-1, len(edges)))
    group = (sums / pairs[:, None]).astype(numpy.float32)
    delay = bin_delays(edges) * dt
    return xarray.Dataset(
        {
            'pcf': (('centre', 'neighbour', 'delay'), curves),
            'grouped': (('group', 'delay'), group),
            'positions': (('detector', 'axis'), positions),
        },
        coords={
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
        ``model`` (the fitted curves, ``(groups, bins)``) and ``groups``
        (the indices fitted).

    Notes
    -----
    All groups are fitted together with ``G(tau) = A w² / (w² + 4 D
    tau) exp(-d² / (w² + 4 D tau))`` (2-D diffusion, Gaussian volumes of
    equal radius), pushed through the estimator's mean subtraction, the
    log bins and the smoothing of the data; each group weighs by the
    number of pairs it averages.

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
    fit = fit_free(
        result['grouped'].values[groups].astype(numpy.float64),
        distance[groups],
        edges=tuple(int(e) for e in result['bin_edge'].values),
        frames=int(result.attrs['frames']),
        mode=str(result.attrs['mode']),
        dt=float(result.attrs['dt']),
        w=w,
        weights=result['pairs'].values[groups],
    )
    fit['groups'] = groups.tolist()
    return fit
