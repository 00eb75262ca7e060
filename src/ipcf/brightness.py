"""Number and brightness (N&B) analysis of image time series.

The mean ``<I>`` and variance ``sigma²`` of every pixel over time give
the apparent number ``N = <I>² / sigma²`` and brightness ``B = sigma² /
<I>`` of the particles it sees (Digman et al. 2008); with the detector
model, the true number ``n`` and molecular brightness ``epsilon``
(photons per molecule and frame) follow. A monomer and a dimer of the
same fluorophore differ by a factor of two in ``epsilon`` at any
concentration, so that brightness maps show where molecules aggregate.

:func:`number_brightness` computes the maps, after an optional
detrending (a moving boxcar of frames or any :mod:`ipcf.bleach`
correction); :func:`brightness_histogram` counts pixels in the
brightness-intensity plane, where populations of different brightness
form separate clusters. :class:`NbAnalysis` is the same analysis for the
blocked pipeline (:func:`ipcf.pipeline.run`), for series larger than
memory.

"""

from __future__ import annotations

import dataclasses
import numbers
from typing import TYPE_CHECKING, Any

import numpy

from ._utils import number_threads
from ._validate import (
    check_any,
    check_int,
    check_mask,
    check_positive,
    check_real,
    check_series,
    check_string,
)

if TYPE_CHECKING:
    import xarray
    from numpy.typing import ArrayLike, NDArray

    from .store import Schema

__all__ = ['NbAnalysis', 'NbPlan', 'brightness_histogram', 'number_brightness']

MIN_FRAMES = 4
"""Fewest frames :func:`number_brightness` accepts."""

_BLOCK_BYTES = 64 * 2**20
"""Most bytes of float64 samples held at a time."""


def number_brightness(
    data: ArrayLike,
    *,
    offset: float = 0.0,
    gain: float = 1.0,
    readout_variance: float = 0.0,
    s_factor: float | None = None,
    detrend: int | str | None = None,
    mask: ArrayLike | None = None,
    num_threads: int | None = None,
) -> xarray.Dataset:
    """Return number and brightness maps of an image series.

    Parameters
    ----------
    data : array_like, shape (T, H, W)
        Image time series of integer or floating-point counts: numpy
        array, memmap, h5py or zarr dataset, dask array. Read a band of
        rows at a time; not modified.
    offset : float, optional, default: 0.0
        Detector offset in counts, the mean of a dark pixel, at least 0.
    gain : float, optional, default: 1.0
        Mean counts per detected photon ``G``, > 0 (1 for photon
        counting). `epsilon` is in photons for the right gain, in counts
        per ``G`` otherwise.
    readout_variance : float, optional, default: 0.0
        Variance ``sigma0²`` of a dark pixel in counts², at least 0.
    s_factor : float, optional
        Slope ``S`` of the variance against the offset-free mean for
        constant light (Dalal et al. 2008), > 0: ``G`` for a detector
        without excess noise (the default, None), ``2 G`` for an EMCCD
        at high gain.
    detrend : int or str, optional
        ``None``: the variance over all frames. An int ``k`` >= 2: the
        mean of the variances within consecutive windows of ``k`` frames
        (a boxcar filter, for slow drift; trailing frames that do not
        fill a window are left out). A string: an :mod:`ipcf.bleach`
        correction (``'exp'``, ``'poly:2'``, ``'filter:512'``, ...) of
        the offset-free series first.
    mask : array_like of bool, shape (H, W), optional
        Pixels to analyse; the others are NaN.
    num_threads : int, optional
        Threads of a bleach correction; ``None`` uses all cores.

    Returns
    -------
    xarray.Dataset
        Maps ``(y, x)``, float32: ``intensity`` (``<I> - offset``),
        ``variance`` (``sigma²``), ``N_app`` and ``B_app`` (apparent
        number and brightness), ``n`` (molecules per pixel) and
        ``epsilon`` (photons per molecule and frame). ``attrs`` hold the
        parameters and the frames used.

    Raises
    ------
    TypeError
        If `data` is not numeric or an option has the wrong type.
    ValueError
        If `data` is not 3-D, has fewer than 4 frames (or than a
        window), or an option is out of range.

    Notes
    -----
    A pixel's counts are ``I = o + sum of G-sized pulses of k photons +
    readout noise``. With ``k`` from ``n`` molecules of brightness
    ``epsilon`` (Poisson photons, number fluctuations ``n``)::

        <I> - o = G n epsilon
        sigma² = sigma0² + S (<I> - o) + G² n epsilon²

    so that::

        B_app = (sigma² - sigma0²) / (<I> - o) = S + G epsilon
        N_app = (<I> - o)² / (sigma² - sigma0²)
        epsilon = (B_app - S) / G
        n = (<I> - o)² / (sigma² - sigma0² - S (<I> - o))

    For photon counting (``o = sigma0² = 0``, ``G = S = 1``) these are
    Digman's ``B = sigma² / <I>``, ``N = <I>² / sigma²``, ``epsilon =
    B - 1`` and ``n = <I> / epsilon``; with ``G = S`` Dalal's analog
    formulas ``epsilon = B / S - 1``. ``epsilon`` and ``n`` refer to
    the pixel as the observation volume: for a Gaussian PSF of 1/e²
    radius ``w`` over a pixel of side ``a``, ``epsilon`` is the photons
    per molecule and frame times ``a² / A_eff`` and ``n`` is the
    concentration times ``A_eff`` (:func:`ipcf.fcs.effective_area`).
    The variance of a boxcar window uses ``k - 1`` in its denominator;
    correlations slower than the window are removed with the trend.

    References
    ----------
    .. [1] Digman MA, Dalal R, Horwitz AF, Gratton E. Mapping the number
       of molecules and brightness in the laser scanning microscope.
       Biophys J 94: 2320 (2008).
    .. [2] Dalal RB, Digman MA, Horwitz AF, Vetri V, Gratton E.
       Determination of particle number and brightness using a laser
       scanning confocal microscope operating in the analog mode.
       Microsc Res Tech 71: 69 (2008).

    Examples
    --------
    >>> counts = numpy.random.default_rng(0).poisson(50, (512, 4, 4))
    >>> nb = number_brightness(counts)
    >>> round(float(nb['B_app'].mean()), 1)  # no molecules: B = 1
    1.0

    """
    import xarray

    from . import __version__

    analysis = NbAnalysis(
        offset=offset,
        gain=gain,
        readout_variance=readout_variance,
        s_factor=s_factor,
        detrend=detrend,
    )
    data, shape = check_series(data, min_frames=MIN_FRAMES)
    nframes, height, width = shape
    plan = analysis.plan(nframes)
    if mask is not None:
        mask = check_mask(mask, (height, width))
        check_any(mask)
    threads = number_threads(num_threads)
    maps = analysis.run(data, plan, mask, num_threads=threads)
    attrs = {
        **analysis.attrs(plan),
        'frames_total': nframes,
        'version': __version__,
    }
    return xarray.Dataset(
        {key: (('y', 'x'), value) for key, value in maps.items()},
        coords={'y': numpy.arange(height), 'x': numpy.arange(width)},
        attrs=attrs,
    )


MAPS = ('intensity', 'variance', 'N_app', 'B_app', 'n', 'epsilon')
"""Maps of :func:`number_brightness`, in their order."""


@dataclasses.dataclass(frozen=True)
class NbPlan:
    """What :class:`NbAnalysis` computes for a series.

    Attributes
    ----------
    nframes : int
        Frames handed to the analysis.
    used : int
        Frames whose moments make the maps: all, less those a bleach
        correction drops or that do not fill the last boxcar window.

    """

    nframes: int
    used: int


class NbAnalysis:
    """Number and brightness as an analysis for the blocked pipeline.

    :func:`number_brightness` runs it on a whole series;
    :func:`ipcf.pipeline.run` runs it block by block on a series on
    disk, so that series larger than memory are analysed. Every map is
    a function of one pixel's moments over time, so the blocked result
    equals the whole one. Give the pipeline ``bleach=None`` and detrend
    here: the correction then acts on the offset-free counts, without
    the rounding to the input's type.

    Parameters
    ----------
    offset, gain, readout_variance, s_factor, detrend :
        As for :func:`number_brightness`.

    Examples
    --------
    >>> import tempfile, ipcf
    >>> counts = numpy.random.default_rng(0).poisson(50, (64, 12, 12))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = ipcf.pipeline.run(NbAnalysis(), [counts], f'{tmp}/nb.h5',
    ...                              bleach=None, block=5)
    ...     blocked = ipcf.load_result(path, group='nb')
    >>> whole = number_brightness(counts)
    >>> bool(numpy.allclose(blocked['B_app'], whole['B_app'], atol=1e-6))
    True

    """

    name = 'nb'
    halo = (0, 0)
    nchannels = 1

    def __init__(
        self,
        *,
        offset: float = 0.0,
        gain: float = 1.0,
        readout_variance: float = 0.0,
        s_factor: float | None = None,
        detrend: int | str | None = None,
    ) -> None:
        self.offset = check_real(offset, 'offset', minimum=0.0)
        self.gain = check_positive(gain, 'gain')
        self.readout_variance = check_real(
            readout_variance, 'readout_variance', minimum=0.0
        )
        self.s_factor = (
            self.gain
            if s_factor is None
            else check_positive(s_factor, 's_factor')
        )
        self.detrend = _check_detrend_option(detrend)

    @property
    def min_frames(self) -> int:
        """Fewest frames analysed (a boxcar window is checked by plan)."""
        from . import bleach

        method, param, _ = _check_detrend(self.detrend, None)
        return MIN_FRAMES + bleach.frames_dropped(method, param)

    def check_shape(self, height: int, width: int) -> None:
        """Accept images of any size: every pixel stands alone."""

    def plan(self, nframes: int) -> NbPlan:
        """Return the plan for a series of nframes frames."""
        from . import bleach

        if nframes < MIN_FRAMES:
            msg = (
                f'data has {nframes} frames; at least {MIN_FRAMES} are needed'
            )
            raise ValueError(msg)
        method, param, window = _check_detrend(self.detrend, nframes)
        if window is not None:
            used = (nframes // window) * window
        else:
            used = nframes - bleach.frames_dropped(method, param)
        return NbPlan(int(nframes), int(used))

    def parameters(self) -> dict[str, Any]:
        """Return the options that define the analysis (JSON types)."""
        return {
            'offset': self.offset,
            'gain': self.gain,
            'readout_variance': self.readout_variance,
            's_factor': self.s_factor,
            'detrend': 'none' if self.detrend is None else str(self.detrend),
        }

    def attrs(self, plan: NbPlan, **extra: Any) -> dict[str, Any]:
        """Return the result attributes of a run with this plan."""
        return {**self.parameters(), 'frames': plan.used, **extra}

    def run(
        self,
        data: Any,
        plan: NbPlan,
        mask: NDArray[numpy.bool_] | None,
        *,
        num_threads: int,
    ) -> dict[str, NDArray[numpy.float32]]:
        """Return the maps ``(y, x)`` of a series, a band of rows at a time.

        `data` is a checked ``(T, H, W)`` array-like; nothing is
        validated here.

        """
        method, param, window = _check_detrend(self.detrend, plan.nframes)
        nframes, height, width = (int(k) for k in data.shape)
        mean = numpy.full((height, width), numpy.nan)
        variance = numpy.full((height, width), numpy.nan)
        rows = max(1, _BLOCK_BYTES // max(1, 8 * nframes * width))
        for y0 in range(0, height, rows):
            y1 = min(height, y0 + rows)
            if mask is not None and not mask[y0:y1].any():
                continue
            block = numpy.asarray(data[:, y0:y1], dtype=numpy.float64)
            if not numpy.isfinite(block).all():
                msg = (
                    f'data contains NaN or infinite values in rows '
                    f'{y0}..{y1 - 1}; replace them, e.g. with '
                    'numpy.nan_to_num'
                )
                raise ValueError(msg)
            block -= self.offset
            m, v, _ = _moments(block, method, param, window, num_threads)
            mean[y0:y1] = m
            variance[y0:y1] = v
        maps = _maps(
            mean,
            variance,
            readout_variance=self.readout_variance,
            s_factor=self.s_factor,
            gain=self.gain,
        )
        if mask is not None:
            for value in maps.values():
                value[~mask] = numpy.nan
        return {k: v.astype(numpy.float32) for k, v in maps.items()}

    def schema(
        self,
        plan: NbPlan,
        grid: tuple[int, int],
        origin: tuple[int, int],
        *,
        dt: float,
        **extra: Any,
    ) -> Schema:
        """Return the store schema of a blocked run."""
        from . import __version__
        from .store import Schema, Variable

        y0, x0 = origin
        variables = {
            key: Variable(('y', 'x'), tuple(grid), 'float32') for key in MAPS
        }
        coords = {
            'y': (('y',), y0 + numpy.arange(grid[0])),
            'x': (('x',), x0 + numpy.arange(grid[1])),
        }
        attrs = {
            **self.attrs(plan, dt=dt, **extra),
            'frames': plan.used,
            'version': __version__,
        }
        return Schema(variables, coords=coords, attrs=attrs)

    def compute(
        self,
        channels: list[Any],
        plan: NbPlan,
        mask: NDArray[numpy.bool_] | None,
        *,
        num_threads: int,
    ) -> dict[str, NDArray[numpy.float32]]:
        """Return the stored maps of one block."""
        return self.run(channels[0], plan, mask, num_threads=num_threads)


def _maps(
    mean: NDArray,
    variance: NDArray,
    *,
    readout_variance: float,
    s_factor: float,
    gain: float,
) -> dict[str, NDArray]:
    """Return the N&B maps of offset-free means and variances."""
    excess = variance - readout_variance
    with numpy.errstate(divide='ignore', invalid='ignore'):
        positive = mean > 0
        b_app = numpy.where(positive, excess / mean, numpy.nan)
        n_app = numpy.where(positive, mean * mean / excess, numpy.nan)
        epsilon = (b_app - s_factor) / gain
        n = numpy.where(
            positive, mean * mean / (excess - s_factor * mean), numpy.nan
        )
    return {
        'intensity': mean,
        'variance': variance,
        'N_app': n_app,
        'B_app': b_app,
        'n': n,
        'epsilon': epsilon,
    }


def brightness_histogram(
    nb: xarray.Dataset,
    /,
    *,
    x: str = 'intensity',
    y: str = 'B_app',
    bins: int | tuple[int, int] = 64,
    range: tuple[tuple[float, float], tuple[float, float]] | None = None,
    mask: ArrayLike | None = None,
) -> xarray.DataArray:
    """Return the 2-D histogram of pixels over two N&B maps.

    Parameters
    ----------
    nb : xarray.Dataset
        Result of :func:`number_brightness`.
    x, y : str, optional, default: 'intensity', 'B_app'
        Maps along the histogram's columns and rows, e.g. ``'epsilon'``
        or ``'n'``.
    bins : int or (int, int), optional, default: 64
        Bins along `y` and `x` (one int for both), each at least 1.
    range : ((ymin, ymax), (xmin, xmax)), optional
        Extent of the histogram; default each map's smallest and largest
        value, so that every pixel is counted. Pixels outside a given
        range are not counted.
    mask : array_like of bool, shape (H, W), optional
        Pixels counted (besides NaN pixels, which never are).

    Returns
    -------
    xarray.DataArray, shape (bins_y, bins_x), int64
        Named ``'counts'`` with dims ``(y, x)`` named after the maps
        (``('B_app', 'intensity')`` by default), bin centres as their
        coordinates and edges as ``<name>_edge`` attributes.

    Examples
    --------
    >>> counts = numpy.random.default_rng(0).poisson(50, (512, 8, 8))
    >>> hist = brightness_histogram(number_brightness(counts), bins=8)
    >>> hist.dims, int(hist.sum())
    (('B_app', 'intensity'), 64)

    """
    import xarray

    if not isinstance(nb, xarray.Dataset):
        msg = f'nb is a {type(nb).__name__}, not the Dataset of N&B maps'
        raise TypeError(msg)
    names = []
    for axis, name in (('y', y), ('x', x)):
        check_string(name, axis)
        if name not in nb.data_vars:
            known = ', '.join(repr(k) for k in nb.data_vars)
            msg = f'{axis}={name!r} is not a map of nb; choose one of {known}'
            raise ValueError(msg)
        names.append(name)
    if isinstance(bins, numbers.Integral) and not isinstance(bins, bool):
        bins = (bins, bins)
    try:
        ny, nx = bins
    except (TypeError, ValueError):
        msg = f'bins={bins!r} is not an int or a pair of ints'
        raise TypeError(msg) from None
    nbins = (
        check_int(ny, 'bins', minimum=1),
        check_int(nx, 'bins', minimum=1),
    )
    values = [numpy.asarray(nb[n].values, numpy.float64) for n in names]
    keep = numpy.isfinite(values[0]) & numpy.isfinite(values[1])
    if mask is not None:
        keep &= check_mask(mask, values[0].shape)
    if not keep.any():
        msg = 'no pixel has finite values of both maps'
        raise ValueError(msg)
    samples = [v[keep] for v in values]
    if range is None:
        extent = [_extent(v) for v in samples]
    else:
        try:
            extent = [
                (check_real(lo, 'range'), check_real(hi, 'range'))
                for lo, hi in range
            ]
        except (TypeError, ValueError):
            msg = f'range={range!r} is not ((ymin, ymax), (xmin, xmax))'
            raise ValueError(msg) from None
        if len(extent) != 2 or any(hi <= lo for lo, hi in extent):
            msg = f'range={range!r} is not ((ymin, ymax), (xmin, xmax))'
            raise ValueError(msg)
    counts, yedges, xedges = numpy.histogram2d(
        samples[0], samples[1], bins=nbins, range=extent
    )
    return xarray.DataArray(
        counts.astype(numpy.int64),
        name='counts',
        dims=tuple(names),
        coords={
            names[0]: 0.5 * (yedges[1:] + yedges[:-1]),
            names[1]: 0.5 * (xedges[1:] + xedges[:-1]),
        },
        attrs={f'{names[0]}_edge': yedges, f'{names[1]}_edge': xedges},
    )


def _extent(values: NDArray) -> tuple[float, float]:
    low, high = values.min(), values.max()
    if not high > low:
        low, high = low - 0.5, high + 0.5
    return float(low), float(high)


def _check_detrend_option(detrend: Any) -> int | str | None:
    """Return a detrend option after checking its kind and syntax."""
    from . import bleach

    if detrend is None:
        return None
    if isinstance(detrend, str):
        bleach.parse_method(detrend)
        return detrend
    return check_int(detrend, 'detrend', minimum=2)


def _check_detrend(
    detrend: Any, nframes: int | None
) -> tuple[str, int | None, int | None]:
    """Return (bleach method, param, window) of a detrend option.

    With `nframes`, refuse a detrending that leaves too few frames.

    """
    from . import bleach

    if detrend is None:
        return 'none', None, None
    if isinstance(detrend, str):
        method, param = bleach.parse_method(detrend)
        if nframes is not None:
            left = nframes - bleach.frames_dropped(method, param)
            if left < MIN_FRAMES:
                msg = (
                    f'detrend={detrend!r} leaves {left} of {nframes} '
                    f'frames; at least {MIN_FRAMES} are needed'
                )
                raise ValueError(msg)
        return method, param, None
    window = check_int(detrend, 'detrend', minimum=2)
    if nframes is not None and window > nframes:
        msg = f'detrend={window} is longer than the {nframes} frames'
        raise ValueError(msg)
    return 'none', None, window


def _moments(
    block: NDArray,
    method: str,
    param: int | None,
    window: int | None,
    threads: int,
) -> tuple[NDArray, NDArray, int]:
    """Return mean, variance and frames used of an offset-free block."""
    from . import bleach

    if method != 'none':
        block = bleach.correct(
            block, method=method, param=param, num_threads=threads
        )
    nframes = block.shape[0]
    if window is None:
        return block.mean(axis=0), block.var(axis=0, ddof=1), nframes
    count = nframes // window
    used = block[: count * window]
    parts = used.reshape(count, window, *block.shape[1:])
    variance = parts.var(axis=1, ddof=1).mean(axis=0)
    return used.mean(axis=0), variance, count * window
