"""Imaging FCS: per-pixel autocorrelation, fits of N and D, diffusion law.

Imaging fluorescence correlation spectroscopy (imaging FCS, ImFCS)
treats every camera pixel as an FCS observation volume:

- :func:`acf_image` computes the autocorrelation ``G(tau)`` of every
  pixel (or of every ``n x n`` binned pixel), on the engines' frequency
  domain path with log bins, or with a multiple-tau correlator that
  also estimates the error of every point. :class:`AcfAnalysis` is the
  same analysis for the blocked pipeline (:func:`ipcf.pipeline.run`).
- :func:`fit_acf` fits the model of a Gaussian PSF integrated over a
  square pixel (:func:`acf_model`), for 2-D diffusion or in a light
  sheet, with one or two components, to every pixel at once: the
  number of particles ``N``, the diffusion coefficient ``D`` and the
  offset ``G_inf``, with their errors.
- :func:`diffusion_law` fits ``D`` at several binnings and the line
  ``tau_D = tau_0 + A_eff / D_eff`` through the diffusion times against
  the effective observation areas; :func:`plot_diffusion_law` draws it.
  Free diffusion gives ``tau_0 = 0``; a positive intercept points to
  domains, a negative one to a meshwork (Wawrezinieck et al. 2005).

"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy

from . import _fcs_model, _multipletau
from ._utils import number_threads, progress_bar
from ._validate import (
    check_any,
    check_choice,
    check_int,
    check_mask,
    check_positive,
    check_real,
    check_series,
)
from .plan import Plan, bin_delays, logbins

if TYPE_CHECKING:
    import xarray
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike, NDArray

    from .store import Schema

__all__ = [
    'AcfAnalysis',
    'acf_image',
    'acf_model',
    'diffusion_law',
    'effective_area',
    'fit_acf',
    'plot_diffusion_law',
]

MIN_FRAMES = 16
"""Fewest frames :func:`acf_image` accepts (``2 * channels`` for the
multiple-tau correlator)."""

CORRELATORS = ('log', 'multipletau')
"""Correlators of :func:`acf_image`."""

MODELS = ('2d', 'spim')
"""Models of :func:`fit_acf`."""

MAX_BINNING = 64
"""Largest pixel binning."""


def acf_image(
    data: ArrayLike,
    *,
    nbins: int = 32,
    dt: float = 1.0,
    binning: int = 1,
    offset: float = 0.0,
    mask: ArrayLike | None = None,
    correlator: str = 'log',
    channels: int = 16,
    engine: str = 'auto',
    num_threads: int | None = None,
    progress: bool = False,
) -> xarray.DataArray:
    """Return the autocorrelation of every (binned) pixel of a series.

    Parameters
    ----------
    data : array_like, shape (T, H, W)
        Image time series of integer or floating-point intensities:
        numpy array, memmap, h5py or zarr dataset, dask array. All
        frames are used. Not modified.
    nbins : int, optional, default: 32
        Logarithmic delay bins requested with ``correlator='log'``, at
        least 3; fewer may remain (:func:`ipcf.plan.logbins`), and the
        first (delay 0) is reported apart.
    dt : float, optional, default: 1.0
        Frame interval in seconds; delays are reported in its unit.
    binning : int, optional, default: 1
        Sum non-overlapping blocks of ``binning x binning`` pixels first,
        1 to 64. Rows and columns beyond the last whole block (the last
        ``H % binning`` rows and ``W % binning`` columns) are dropped.
    offset : float, optional, default: 0.0
        Camera offset (plus any constant background) per input pixel in
        counts, at least 0. Curves are normalised by the mean less the
        offset (``binning**2 * offset`` for a binned pixel); pixels whose
        mean does not exceed it are NaN.
    mask : array_like of bool, shape (H, W), optional
        Pixels to analyse; a binned pixel is analysed if all its pixels
        are. The others are NaN.
    correlator : {'log', 'multipletau'}, optional, default: 'log'
        ``'log'``: the frequency-domain engines with log bins, as for
        the pCF. ``'multipletau'``: a multiple-tau correlator in float64
        with the standard error of every point.
    channels : int, optional, default: 16
        Delays per level of the multiple-tau correlator (``m``), even, at
        least 4.
    engine : {'auto', 'reference', 'cpu', 'gpu'}, optional
        Engine of the ``'log'`` correlator; all agree within 1e-5.
    num_threads : int, optional
        Number of threads; ``None`` uses all cores.
    progress : bool, optional, default: False
        Show a progress bar.

    Returns
    -------
    xarray.DataArray, shape (H // binning, W // binning, ndelays), float32
        Named ``'acf'`` with dims ``('y', 'x', 'delay')``. ``y`` and
        ``x`` are the input pixel coordinates of each (binned) pixel's
        centre; ``delay`` holds the delays in seconds and ``lag`` in
        frames (the mean delay of a log bin). Coordinate ``acf_zero``
        ``(y, x)`` is ``G(0)``, shot noise included; ``acf_error``
        ``(y, x, delay)`` (multiple-tau only) the standard error of each
        point. ``attrs`` hold every parameter, the frames, the engine and
        the package version.

    Raises
    ------
    TypeError
        If `data` is not numeric or an option has the wrong type.
    ValueError
        If `data` is not 3-D, has too few frames or pixels for the
        binning, contains NaN, or an option is out of range.

    Notes
    -----
    With ``a(t)`` a pixel's series over ``T`` frames, ``da = a - <a>``
    and ``o`` the offset::

        G(tau) = sum_{t < T - tau} da(t) da(t + tau)
                 / ((T - tau) (<a> - o)**2)

    ``'log'`` averages the engines' linear-mode curve ``sum da da / (T
    (<a> - o)**2)`` in each log bin (no smoothing) and multiplies it by
    ``T / (T - lag)`` of the bin's mean delay ``lag``: exact where the
    curve is constant over a bin, within ``(width / T)**2`` otherwise.
    ``'multipletau'`` averages the series over ``2**k`` frames at level
    ``k`` and correlates those samples (the multiple-tau scheme of
    Schätzel 1990 and of the ``multipletau`` package, which gives the
    same values); delays with fewer than `channels` products are left
    out. Its error is the largest standard error of block means of the
    products over block lengths ``1, 2, 4, ...`` leaving at least 32
    blocks (a blocking analysis, Flyvbjerg and Petersen 1989).

    References
    ----------
    .. [1] Sankaran J, Shi X, Ho LY, Stelzer EHK, Wohland T. ImFCS: a
       software for imaging FCS data analysis and visualization. Opt
       Express 18: 25468 (2010).
    .. [2] Schätzel K. Noise on photon correlation data. Quantum Opt 2:
       287 (1990).

    Examples
    --------
    >>> data = numpy.random.default_rng(0).poisson(100, (256, 8, 8))
    >>> acf = acf_image(data, nbins=16, binning=2)
    >>> acf.dims, acf.shape[:2]
    (('y', 'x', 'delay'), (4, 4))
    >>> round(float(acf['acf_zero'].mean()) * 400, 1)  # Poisson: 1/<a>
    1.0

    """
    analysis = AcfAnalysis(
        nbins=nbins,
        binning=binning,
        offset=offset,
        correlator=correlator,
        channels=channels,
        engine=engine,
    )
    data, shape = check_series(data, min_frames=analysis.min_frames)
    nframes, height, width = shape
    analysis.check_shape(height, width)
    dt = check_positive(dt, 'dt')
    num_threads = number_threads(num_threads)
    if mask is not None:
        mask = check_mask(mask, (height, width))
        check_any(_bin_mask(mask, analysis.binning), name='mask')
    plan = analysis.plan(nframes)
    values = analysis.run(
        [data], plan, mask, num_threads=num_threads, progress=progress
    )
    return analysis.result(values, plan, dt=dt, shape=(height, width))


@dataclasses.dataclass(frozen=True, eq=False)
class AcfPlan:
    """What :class:`AcfAnalysis` computes for a series.

    Attributes
    ----------
    nframes : int
        Frames used (all).
    lags : tuple of float
        Delay of each reported point in frames (the delay 0 excluded).
    engine_plan : Plan or None
        The engines' plan of the log correlator: offset ``(0, 0)``, no
        halo, linear mode, no smoothing.

    """

    nframes: int
    lags: tuple[float, ...]
    engine_plan: Plan | None = None
    edges: tuple[int, ...] = ()


class AcfAnalysis:
    """Imaging FCS autocorrelation as an analysis for the pipeline.

    :func:`acf_image` runs it on a whole image; :func:`ipcf.pipeline.run`
    runs it block by block on a series on disk (``binning=1`` only: the
    pipeline's blocks are in input pixels) and stores the variables
    ``acf``, ``acf_zero`` and, for the multiple-tau correlator,
    ``acf_error``.

    Parameters
    ----------
    nbins, binning, offset, correlator, channels, engine :
        As for :func:`acf_image`.

    Examples
    --------
    >>> analysis = AcfAnalysis(nbins=16)
    >>> analysis.name, analysis.halo, analysis.plan(64).lags[:3]
    ('acf', (0, 0), (1.0, 2.0, 3.0))

    """

    name = 'acf'
    halo = (0, 0)
    nchannels = 1

    def __init__(
        self,
        *,
        nbins: int = 32,
        binning: int = 1,
        offset: float = 0.0,
        correlator: str = 'log',
        channels: int = 16,
        engine: str = 'auto',
    ) -> None:
        from . import engines

        self.nbins = check_int(nbins, 'nbins', minimum=3)
        self.binning = check_int(
            binning, 'binning', minimum=1, maximum=MAX_BINNING
        )
        self.offset = check_real(offset, 'offset', minimum=0.0)
        self.correlator = check_choice(correlator, 'correlator', CORRELATORS)
        self.channels = check_int(channels, 'channels', minimum=4)
        if self.channels % 2:
            msg = f'channels={self.channels} must be even'
            raise ValueError(msg)
        self.engine = engines.get(engine)

    @property
    def min_frames(self) -> int:
        """Fewest frames analysed."""
        if self.correlator == 'multipletau':
            return max(MIN_FRAMES, 2 * self.channels)
        return MIN_FRAMES

    def check_shape(self, height: int, width: int) -> None:
        """Raise ValueError if images are smaller than one binned pixel."""
        if min(height, width) < self.binning:
            msg = (
                f'{height}x{width} images are too small for '
                f'binning={self.binning}'
            )
            raise ValueError(msg)

    def plan(self, nframes: int) -> AcfPlan:
        """Return the plan for a series of nframes frames."""
        if nframes < self.min_frames:
            msg = (
                f'data has {nframes} frames; at least {self.min_frames} '
                'are needed'
            )
            raise ValueError(msg)
        if self.correlator == 'multipletau':
            lags = _multipletau.delays(nframes, self.channels)[1:]
            return AcfPlan(nframes, tuple(float(d) for d in lags))
        edges = tuple(int(e) for e in logbins(nframes // 2, self.nbins))
        engine_plan = Plan(
            offsets=numpy.zeros((1, 2), numpy.intp),
            halo=(0, 0),
            nframes=nframes,
            edges=edges,
            mode='linear',
            smoothing=False,
            offset=self.offset * self.binning**2,
        )
        lags = tuple(float(d) for d in bin_delays(edges)[1:])
        return AcfPlan(nframes, lags, engine_plan, edges)

    def parameters(self) -> dict[str, Any]:
        """Return the options that define the analysis (JSON types)."""
        params: dict[str, Any] = {
            'correlator': self.correlator,
            'binning': self.binning,
            'offset': self.offset,
        }
        if self.correlator == 'log':
            params.update(nbins=self.nbins, engine=self.engine.NAME)
        else:
            params['channels'] = self.channels
        return params

    def run(
        self,
        channels: list[Any],
        plan: AcfPlan,
        mask: NDArray[numpy.bool_] | None,
        *,
        num_threads: int,
        progress: bool = False,
    ) -> dict[str, NDArray[numpy.float32]]:
        """Return ``acf`` (y, x, delay), ``acf_zero`` and ``acf_error``."""
        from ._rows import RowReader

        n = self.binning
        series = channels[0]
        if n > 1:
            series = _bin_series(series, n, plan.nframes)
        if mask is not None:
            mask = _bin_mask(mask, n)
        _, height, width = (int(k) for k in series.shape)
        nlags = len(plan.lags)
        values = numpy.full((height, width, nlags), numpy.nan, numpy.float32)
        zero = numpy.full((height, width), numpy.nan, numpy.float32)
        out = {'acf': values, 'acf_zero': zero}
        if self.correlator == 'multipletau':
            errors = numpy.full_like(values, numpy.nan)
            out['acf_error'] = errors
        if mask is not None and not mask.any():
            return out
        bar = progress_bar(
            height * width, enable=progress, desc='ACF', unit='px'
        )
        with bar:
            if self.correlator == 'log':
                engine_plan = plan.engine_plan
                assert engine_plan is not None
                buffer = numpy.full(
                    engine_plan.out_shape((height, width)),
                    numpy.nan,
                    numpy.float32,
                )
                self.engine.compute(
                    engine_plan,
                    RowReader([series], plan.nframes),
                    buffer,
                    mask=mask,
                    num_threads=num_threads,
                    progress=bar.update if progress else None,
                )
                curves = buffer[0, :, :, 0, :]
                scale = plan.nframes / (plan.nframes - numpy.array(plan.lags))
                values[...] = curves[..., 1:] * scale.astype(numpy.float32)
                zero[...] = curves[..., 0]
            else:
                self._multipletau(series, plan, mask, out)
            bar.update(height * width - bar.n)
        if mask is not None:
            for array in out.values():
                array[~mask] = numpy.nan
        return out

    def _multipletau(
        self,
        series: Any,
        plan: AcfPlan,
        mask: NDArray[numpy.bool_] | None,
        out: dict[str, NDArray[numpy.float32]],
    ) -> None:
        """Fill out with the multiple-tau curves, a few rows at a time."""
        _, height, width = (int(k) for k in series.shape)
        offset = self.offset * self.binning**2
        rows = max(1, 2**24 // max(1, plan.nframes * width))
        for y0 in range(0, height, rows):
            y1 = min(height, y0 + rows)
            block = numpy.asarray(
                series[: plan.nframes, y0:y1], dtype=numpy.float64
            )
            if not numpy.isfinite(block).all():
                msg = (
                    f'data contains NaN or infinite values in rows '
                    f'{y0}..{y1 - 1}; replace them, e.g. with '
                    'numpy.nan_to_num'
                )
                raise ValueError(msg)
            pixels = block.reshape(plan.nframes, -1)
            selected = numpy.ones(pixels.shape[1], bool)
            if mask is not None:
                selected = mask[y0:y1].ravel()
                if not selected.any():
                    continue
            _, g, e = _multipletau.autocorrelate(
                pixels[:, selected], m=self.channels, offset=offset
            )
            for key, part in (
                ('acf', g[1:]),
                ('acf_error', e[1:]),
                ('acf_zero', g[:1]),
            ):
                target = out[key][y0:y1].reshape(selected.size, -1)
                target[selected] = part.T
                out[key][y0:y1] = target.reshape(out[key][y0:y1].shape)

    def attrs(self, plan: AcfPlan, *, dt: float, **extra: Any) -> dict:
        """Return the result attributes of a run with this plan."""
        return {
            'dt': dt,
            'frames': plan.nframes,
            **self.parameters(),
            **extra,
        }

    def coords(
        self,
        plan: AcfPlan,
        grid: tuple[int, int],
        origin: tuple[int, int],
        dt: float,
    ) -> dict[str, tuple[tuple[str, ...], Any]]:
        """Return the result coordinates (input pixels, seconds)."""
        n = self.binning
        centre = (n - 1) / 2.0
        y0, x0 = origin
        lags = numpy.asarray(plan.lags)
        y = y0 + n * numpy.arange(grid[0]) + centre
        x = x0 + n * numpy.arange(grid[1]) + centre
        if n % 2:
            y, x = y.astype(numpy.intp), x.astype(numpy.intp)
        coords: dict[str, tuple[tuple[str, ...], Any]] = {
            'y': (('y',), y),
            'x': (('x',), x),
            'delay': (('delay',), lags * dt),
            'lag': (('delay',), lags),
        }
        if plan.edges:
            coords['bin_edge'] = (('delay',), numpy.asarray(plan.edges[1:]))
        return coords

    def result(
        self,
        values: dict[str, NDArray[numpy.float32]],
        plan: AcfPlan,
        *,
        dt: float,
        shape: tuple[int, int],
        origin: tuple[int, int] = (0, 0),
        **extra: Any,
    ) -> xarray.DataArray:
        """Return the run's values as the labelled result of acf_image."""
        import xarray

        from . import __version__

        grid = values['acf'].shape[:2]
        coords: dict[str, Any] = self.coords(plan, grid, origin, dt)
        coords['acf_zero'] = (('y', 'x'), values['acf_zero'])
        if 'acf_error' in values:
            coords['acf_error'] = (('y', 'x', 'delay'), values['acf_error'])
        n = self.binning
        attrs = self.attrs(plan, dt=dt, **extra)
        attrs['cropped'] = [int(shape[0] % n), int(shape[1] % n)]
        attrs['version'] = __version__
        return xarray.DataArray(
            values['acf'],
            name=self.name,
            dims=('y', 'x', 'delay'),
            coords=coords,
            attrs=attrs,
        )

    def schema(
        self,
        plan: AcfPlan,
        grid: tuple[int, int],
        origin: tuple[int, int],
        *,
        dt: float,
        **extra: Any,
    ) -> Schema:
        """Return the store schema of a blocked run (``binning=1``)."""
        from . import __version__
        from .store import Schema, Variable

        if self.binning != 1:
            msg = (
                f'the blocked pipeline runs binning=1, not {self.binning}; '
                'use acf_image on the whole series, or bin it first'
            )
            raise ValueError(msg)
        nlags = len(plan.lags)
        variables = {
            'acf': Variable(('y', 'x', 'delay'), (*grid, nlags), 'float32'),
            'acf_zero': Variable(('y', 'x'), grid, 'float32'),
        }
        if self.correlator == 'multipletau':
            variables['acf_error'] = Variable(
                ('y', 'x', 'delay'), (*grid, nlags), 'float32'
            )
        attrs = {**self.attrs(plan, dt=dt, **extra), 'version': __version__}
        return Schema(
            variables,
            coords=self.coords(plan, grid, origin, dt),
            attrs=attrs,
        )

    def compute(
        self,
        channels: list[Any],
        plan: AcfPlan,
        mask: NDArray[numpy.bool_] | None,
        *,
        num_threads: int,
    ) -> dict[str, NDArray[numpy.float32]]:
        """Return the stored variables of one block."""
        return self.run(channels, plan, mask, num_threads=num_threads)


def effective_area(*, pixel_size: float, w: float) -> float:
    """Return the effective observation area of a square pixel, µm².

    Parameters
    ----------
    pixel_size : float
        Side ``a`` of the (binned) pixel in µm, > 0.
    w : float
        1/e² radius of the PSF in µm, > 0.

    Returns
    -------
    float
        ``A_eff = a² / f(a / w)**2`` with ``f(q) = erf(q) + (exp(-q²) -
        1) / (sqrt(pi) q)``: ``pi w²`` for a small pixel, ``a²`` for a
        large one.

    Examples
    --------
    >>> round(effective_area(pixel_size=0.1, w=0.25), 4)
    0.2069

    """
    side = check_positive(pixel_size, 'pixel_size')
    w = check_positive(w, 'w')
    return _fcs_model.effective_area(side, w)


def acf_model(
    delay: ArrayLike,
    /,
    *,
    diffusion: float,
    number: float,
    pixel_size: float,
    w: float,
    w_z: float | None = None,
    g_inf: float = 0.0,
) -> NDArray[numpy.float64]:
    """Return the imaging FCS autocorrelation of a square pixel.

    Parameters
    ----------
    delay : array_like
        Delays in seconds, >= 0.
    diffusion : float
        Diffusion coefficient ``D`` in µm²/s, > 0.
    number : float
        Particles ``N`` in the effective area (volume with `w_z`), > 0.
    pixel_size : float
        Side ``a`` of the (binned) pixel in µm, > 0.
    w : float
        1/e² radius of the PSF in the focal plane in µm, > 0.
    w_z : float, optional
        Axial 1/e² radius of a light sheet in µm; None for 2-D diffusion.
    g_inf : float, optional, default: 0.0
        Offset at long delays.

    Returns
    -------
    ndarray of float64

    Notes
    -----
    ::

        G(tau) = 1/N (f(q(tau)) / f(q(0)))**2 [1 + 4 D tau / w_z²]**-1/2
                 + G_inf
        q(tau) = a / sqrt(w² + 4 D tau)
        f(q) = erf(q) + (exp(-q²) - 1) / (sqrt(pi) q)

    Per axis, the pixel collects from a particle at ``x`` the Gaussian
    PSF integrated over the pixel; the correlation over a step of
    variance ``2 D tau`` is the integral over pairs of points of the
    pixel of a Gaussian of variance ``w²/2 + 2 D tau``, ``a f(q)``, and
    the mean is ``a``: hence ``G(0) = f(a/w)**2 / (C a²) = 1 / (C
    A_eff)`` for ``C`` particles per µm² (:func:`effective_area`). The
    light-sheet factor is that of a Gaussian axial profile; then ``N``
    counts particles in ``A_eff sqrt(pi) w_z``.

    Examples
    --------
    >>> g = acf_model([0.0, 0.01], diffusion=1.0, number=2.0,
    ...               pixel_size=0.1, w=0.25)
    >>> [round(float(v), 4) for v in g]
    [0.5, 0.3111]

    """
    delay = numpy.asarray(delay, dtype=numpy.float64)
    if (delay < 0).any() or not numpy.isfinite(delay).all():
        msg = 'delay must be finite and >= 0'
        raise ValueError(msg)
    diffusion = check_positive(diffusion, 'diffusion')
    number = check_positive(number, 'number')
    side = check_positive(pixel_size, 'pixel_size')
    w = check_positive(w, 'w')
    if w_z is not None:
        w_z = check_positive(w_z, 'w_z')
    g_inf = check_real(g_inf, 'g_inf')
    s = _fcs_model.shape(delay, diffusion, side=side, w=w, w_z=w_z)[0]
    return s / number + g_inf


def fit_acf(
    acf: xarray.DataArray | xarray.Dataset,
    /,
    *,
    pixel_size: float,
    w: float,
    model: str = '2d',
    components: int = 1,
    w_z: float | None = None,
    fit_range: tuple[float, float] | None = None,
    weights: str = 'auto',
) -> xarray.Dataset:
    """Fit the imaging FCS model to the autocorrelation of every pixel.

    Parameters
    ----------
    acf : xarray.DataArray or xarray.Dataset
        Result of :func:`acf_image` (or its stored form, a Dataset with
        ``acf`` and optionally ``acf_error``). Its ``binning`` attribute
        sets the pixel side.
    pixel_size : float
        Side of an input pixel in µm, > 0; a binned pixel has
        ``binning * pixel_size``.
    w : float
        1/e² radius of the PSF in µm, > 0.
    model : {'2d', 'spim'}, optional, default: '2d'
        Diffusion in the focal plane, or in a light sheet of axial 1/e²
        radius `w_z` (which 'spim' needs).
    components : {1, 2}, optional, default: 1
        Diffusing species of equal brightness.
    w_z : float, optional
        Axial 1/e² radius in µm for ``model='spim'``.
    fit_range : (float, float), optional
        Smallest and largest delay fitted, seconds; default all.
    weights : {'auto', 'none'}, optional, default: 'auto'
        ``'auto'`` weights each point by ``1 / acf_error**2`` where the
        result has errors (the multiple-tau correlator), else equally;
        ``'none'`` always equally.

    Returns
    -------
    xarray.Dataset
        Per pixel ``(y, x)``: ``N`` (particles in the effective area,
        or volume for 'spim'), ``D`` (µm²/s), ``G_inf``, each with an
        ``_error`` (one standard deviation), ``density`` (``N /
        A_eff``, per µm², or per µm³ for 'spim'), ``chi2`` (reduced;
        with equal weights the mean squared residual) and ``fit``, the
        model at every delay. Two components add ``D2`` (the faster,
        ``D <= D2``) and ``F2``, the fraction of particles in it, with
        errors. ``attrs`` hold the parameters, ``side`` (pixel side, µm)
        and ``area`` (``A_eff``, µm²; ``volume`` for 'spim').

    Raises
    ------
    TypeError, ValueError
        If `acf` is not an ACF result, or an option is out of range.

    Notes
    -----
    The model, with ``a`` the pixel side (:func:`acf_model`)::

        G(tau) = 1/N [(1 - F2) s(tau; D) + F2 s(tau; D2)] + G_inf
        s(tau; D) = (f(q(tau)) / f(a / w))**2 [1 + 4 D tau / w_z²]**-1/2
        q(tau) = a / sqrt(w² + 4 D tau)
        f(q) = erf(q) + (exp(-q²) - 1) / (sqrt(pi) q)

    without the bracket for '2d' and with ``F2 = 0`` for one component,
    evaluated at each point's delay. Every pixel is fitted at once: the
    best of trial diffusion coefficients (the linear amplitudes solved
    exactly for each) starts a Levenberg-Marquardt descent in the
    amplitudes, ``log D`` and ``G_inf``. Errors come from the inverse of
    the weighted normal matrix, scaled by the reduced chi-square when
    the points are weighted equally.

    References
    ----------
    .. [1] Wohland T, Shi X, Sankaran J, Stelzer EHK. Single plane
       illumination fluorescence correlation spectroscopy (SPIM-FCS)
       probes inhomogeneous three-dimensional environments. Opt Express
       18: 10627 (2010).

    Examples
    --------
    >>> lag = numpy.geomspace(1e-3, 1.0, 24)
    >>> g = acf_model(lag, diffusion=1.0, number=2.0, pixel_size=0.1,
    ...               w=0.25)
    >>> import xarray
    >>> acf = xarray.DataArray(numpy.tile(g, (2, 3, 1)),
    ...                        dims=('y', 'x', 'delay'),
    ...                        coords={'delay': lag}, name='acf')
    >>> fit = fit_acf(acf, pixel_size=0.1, w=0.25)
    >>> round(float(fit['D'][0, 0]), 3), round(float(fit['N'][0, 0]), 3)
    (1.0, 2.0)

    """
    import xarray

    values, errors = _acf_values(acf)
    side_px = check_positive(pixel_size, 'pixel_size')
    w = check_positive(w, 'w')
    model = check_choice(model, 'model', MODELS)
    components = check_int(components, 'components', minimum=1, maximum=2)
    if model == 'spim':
        if w_z is None:
            msg = "model='spim' needs w_z, the axial 1/e² radius in µm"
            raise ValueError(msg)
        w_z = check_positive(w_z, 'w_z')
    elif w_z is not None:
        msg = f"w_z={w_z} is for model='spim', not model={model!r}"
        raise ValueError(msg)
    weights = check_choice(weights, 'weights', ('auto', 'none'))
    binning = int(values.attrs.get('binning', 1))
    side = binning * side_px
    delay = numpy.asarray(values['delay'].values, dtype=numpy.float64)
    use = delay > 0
    if fit_range is not None:
        low, high = _check_range(fit_range)
        use &= (delay >= low) & (delay <= high)
    npar = 2 * components + 1
    if use.sum() <= npar:
        msg = (
            f'{int(use.sum())} delays are in the fit range; '
            f'at least {npar + 1} are needed'
        )
        raise ValueError(msg)
    height, width = values.shape[:2]
    data = numpy.asarray(values.values, dtype=numpy.float64).reshape(
        height * width, -1
    )
    weight = numpy.ones_like(data)
    if errors is not None and weights == 'auto':
        sigma = numpy.asarray(errors, dtype=numpy.float64).reshape(data.shape)
        with numpy.errstate(divide='ignore', invalid='ignore'):
            weight = numpy.where(sigma > 0, 1.0 / sigma**2, 0.0)
    weight[:, ~use] = 0.0
    valid = numpy.isfinite(data[:, use]).all(axis=1)
    valid &= numpy.isfinite(weight).all(axis=1)
    data = numpy.where(numpy.isfinite(data), data, 0.0)
    weight[~valid] = 0.0
    out = {
        key: numpy.full(height * width, numpy.nan)
        for key in _fit_names(components)
    }
    curve = numpy.full_like(data, numpy.nan)
    if valid.any():
        result = _fcs_model.fit(
            delay,
            data[valid],
            weight[valid],
            side=side,
            w=w,
            w_z=w_z,
            components=components,
        )
        for key, value in _fit_outputs(result, components).items():
            out[key][valid] = value
        curve[valid] = result['model']
    area = _fcs_model.effective_area(side, w)
    size = area if w_z is None else area * math.sqrt(math.pi) * w_z
    out['density'] = out['N'] / size
    dims = ('y', 'x')
    for value in out.values():
        # a failed pixel's values may not fit float32
        value[~(numpy.abs(value) < 1e30)] = numpy.nan
    variables = {
        key: (dims, value.reshape(height, width).astype(numpy.float32))
        for key, value in out.items()
    }
    variables['fit'] = (
        ('y', 'x', 'delay'),
        curve.reshape(values.shape).astype(numpy.float32),
    )
    coords = {
        k: v
        for k, v in values.coords.items()
        if set(v.dims) <= {'y', 'x', 'delay'}
        and k not in {'acf_zero', 'acf_error'}
    }
    attrs = {
        'model': model,
        'components': components,
        'pixel_size': side_px,
        'binning': binning,
        'side': side,
        'w': w,
        'area': area,
        'weights': 'errors'
        if errors is not None and weights == 'auto'
        else 'equal',
    }
    if w_z is not None:
        attrs.update(w_z=w_z, volume=size)
    if fit_range is not None:
        attrs['fit_range'] = [low, high]
    if 'dt' in values.attrs:
        attrs['dt'] = values.attrs['dt']
    return xarray.Dataset(variables, coords=coords, attrs=attrs)


def diffusion_law(
    data: ArrayLike,
    *,
    pixel_size: float,
    w: float,
    binnings: Sequence[int] = (1, 2, 3, 4, 5),
    dt: float = 1.0,
    nbins: int = 32,
    offset: float = 0.0,
    mask: ArrayLike | None = None,
    correlator: str = 'log',
    model: str = '2d',
    w_z: float | None = None,
    fit_range: tuple[float, float] | None = None,
    engine: str = 'auto',
    num_threads: int | None = None,
) -> xarray.Dataset:
    """Return the imaging FCS diffusion law of an image series.

    Parameters
    ----------
    data : array_like, shape (T, H, W)
        Image time series, as for :func:`acf_image`.
    pixel_size : float
        Side of an input pixel in µm, > 0.
    w : float
        1/e² radius of the PSF in µm, > 0.
    binnings : sequence of int, optional, default: (1, 2, 3, 4, 5)
        Pixel binnings, at least two distinct, each leaving at least one
        binned pixel.
    dt, nbins, offset, mask, correlator, engine, num_threads :
        As for :func:`acf_image`.
    model, w_z, fit_range :
        As for :func:`fit_acf` (one component).

    Returns
    -------
    xarray.Dataset
        Along ``binning``: ``area`` (coordinate, ``A_eff`` in µm²),
        ``tau_D`` (the median over pixels of ``A_eff / D``, s),
        ``tau_D_error`` (its standard error, ``1.253 * 1.4826 * MAD /
        sqrt(n)``), ``D`` and ``N`` (medians) and ``pixels`` (pixels
        fitted). ``attrs``: ``intercept`` (``tau_0``, s), ``slope``
        (``1 / D_eff``, s/µm²), their ``_error``, ``D_eff``, and the
        parameters.

    Notes
    -----
    ``tau_D = tau_0 + A_eff / D_eff`` is fitted by least squares
    weighted by ``1 / tau_D_error**2``; the errors of intercept and
    slope are scaled by the reduced chi-square when more than two
    binnings are given. For free diffusion ``D`` is the same at every
    binning and ``tau_0 = 0``.

    References
    ----------
    .. [1] Bag N, Sankaran J, Paul A, Kraut RS, Wohland T. Calibration
       and limits of camera-based fluorescence correlation spectroscopy:
       a supported lipid bilayer study. ChemPhysChem 13: 2784 (2012).
    .. [2] Wawrezinieck L, Rigneault H, Marguet D, Lenne PF.
       Fluorescence correlation spectroscopy diffusion laws to probe the
       submicron cell membrane organization. Biophys J 89: 4029 (2005).

    Examples
    --------
    >>> from ipcf import simulate
    >>> sim = simulate.free(shape=(512, 12, 12), diffusion=1.0, seed=0)
    >>> law = diffusion_law(sim.data, pixel_size=0.1, w=0.25, dt=1e-3,
    ...                     binnings=(1, 2, 3), offset=102.0)
    >>> law['tau_D'].dims, 'intercept' in law.attrs
    (('binning',), True)

    """
    import xarray

    data, shape = check_series(data, min_frames=MIN_FRAMES)
    pixel_size = check_positive(pixel_size, 'pixel_size')
    w = check_positive(w, 'w')
    if isinstance(binnings, int | numpy.integer) or not isinstance(
        binnings, Sequence | numpy.ndarray
    ):
        msg = f'binnings={binnings!r} is not a sequence of integers'
        raise TypeError(msg)
    binnings = sorted({check_int(b, 'binnings', minimum=1) for b in binnings})
    if len(binnings) < 2:
        msg = f'binnings={binnings} needs at least two distinct binnings'
        raise ValueError(msg)
    if binnings[-1] > min(shape[1:]):
        msg = (
            f'binning {binnings[-1]} is larger than the '
            f'{shape[1]}x{shape[2]} images'
        )
        raise ValueError(msg)
    rows = {k: [] for k in ('area', 'tau_D', 'tau_D_error', 'D', 'N')}
    pixels = []
    for n in binnings:
        acf = acf_image(
            data,
            nbins=nbins,
            dt=dt,
            binning=n,
            offset=offset,
            mask=mask,
            correlator=correlator,
            engine=engine,
            num_threads=num_threads,
        )
        fit = fit_acf(
            acf,
            pixel_size=pixel_size,
            w=w,
            model=model,
            w_z=w_z,
            fit_range=fit_range,
        )
        area = float(fit.attrs['area'])
        diffusion = fit['D'].values.astype(numpy.float64).ravel()
        good = numpy.isfinite(diffusion) & (diffusion > 0)
        tau = area / diffusion[good]
        rows['area'].append(area)
        rows['tau_D'].append(_median(tau))
        rows['tau_D_error'].append(_median_error(tau))
        rows['D'].append(_median(diffusion[good]))
        rows['N'].append(_median(fit['N'].values.ravel()[good]))
        pixels.append(int(good.sum()))
    line = _line(
        numpy.array(rows['area']),
        numpy.array(rows['tau_D']),
        numpy.array(rows['tau_D_error']),
    )
    variables = {
        key: (('binning',), numpy.array(value))
        for key, value in rows.items()
        if key != 'area'
    }
    variables['pixels'] = (('binning',), numpy.array(pixels))
    attrs = {
        **line,
        'pixel_size': pixel_size,
        'w': w,
        'dt': float(dt),
        'model': model,
        'correlator': correlator,
        'offset': float(offset),
    }
    if w_z is not None:
        attrs['w_z'] = float(w_z)
    return xarray.Dataset(
        variables,
        coords={
            'binning': numpy.array(binnings),
            'area': (('binning',), numpy.array(rows['area'])),
        },
        attrs=attrs,
    )


def plot_diffusion_law(
    law: xarray.Dataset, /, *, ax: Axes | None = None
) -> Figure:
    """Draw a diffusion law: tau_D against A_eff with its fitted line.

    Parameters
    ----------
    law : xarray.Dataset
        Result of :func:`diffusion_law`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; default a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import xarray
    >>> law = xarray.Dataset(
    ...     {'tau_D': ('binning', [0.1, 0.2]),
    ...      'tau_D_error': ('binning', [0.01, 0.01])},
    ...     coords={'binning': [1, 2], 'area': ('binning', [0.2, 0.4])},
    ...     attrs={'intercept': 0.0, 'slope': 0.5, 'D_eff': 2.0,
    ...            'intercept_error': 0.01})
    >>> plot_diffusion_law(law).axes[0].get_xlabel()
    'A_eff (µm²)'

    """
    try:
        from .plot._common import delay_axis, figure_axes
    except ImportError as exc:  # pragma: no cover - matplotlib missing
        msg = 'plot_diffusion_law needs matplotlib; install ipcf[all]'
        raise ImportError(msg) from exc
    for key in ('tau_D', 'tau_D_error', 'area'):
        if key not in law.variables:
            msg = f'law has no {key!r}; pass the result of diffusion_law'
            raise ValueError(msg)
    fig, ax = figure_axes(ax)
    area = numpy.asarray(law['area'].values, dtype=numpy.float64)
    tau = numpy.asarray(law['tau_D'].values, dtype=numpy.float64)
    err = numpy.asarray(law['tau_D_error'].values, dtype=numpy.float64)
    ax.errorbar(area, tau, yerr=err, fmt='o', capsize=3, label='binnings')
    for a, t, n in zip(area, tau, law['binning'].values, strict=True):
        ax.annotate(
            f'{int(n)}x{int(n)}',
            (a, t),
            textcoords='offset points',
            xytext=(4, -10),
            fontsize='small',
        )
    intercept = float(law.attrs['intercept'])
    error = float(law.attrs['intercept_error'])
    slope = float(law.attrs['slope'])
    line = numpy.array([0.0, area.max() * 1.05])
    ax.plot(
        line,
        intercept + slope * line,
        '-',
        label=(
            f'τ0 = {intercept:.3g} ± {error:.2g} s,'
            f' D_eff = {float(law.attrs["D_eff"]):.3g} µm²/s'
        ),
    )
    ax.axhline(0.0, color='0.7', linewidth=0.8)
    ax.set_xlim(0.0, None)
    ax.set_xlabel('A_eff (µm²)')
    delay_axis(ax, [*tau, intercept], 's', axis='y', scale='linear')
    ax.set_ylabel('τ_D')  # each tick has its unit
    ax.set_title('Imaging FCS diffusion law')
    ax.legend(fontsize='small')
    return fig


def _acf_values(acf: Any) -> tuple[Any, Any]:
    """Return the ACF DataArray and its errors (or None) of a result."""
    import xarray

    if isinstance(acf, xarray.Dataset):
        if 'acf' not in acf.data_vars:
            msg = 'acf is a Dataset without an "acf" variable'
            raise ValueError(msg)
        errors = acf['acf_error'].values if 'acf_error' in acf else None
        values = acf['acf']
        # a copy: the Dataset's variable keeps its own attributes
        values = values.copy(deep=False)
        values.attrs = {**acf.attrs, **values.attrs}
    elif isinstance(acf, xarray.DataArray):
        values = acf
        errors = acf['acf_error'].values if 'acf_error' in acf.coords else None
    else:
        msg = (
            f'acf is a {type(acf).__name__}, not the xarray result of '
            'acf_image'
        )
        raise TypeError(msg)
    if values.dims != ('y', 'x', 'delay'):
        msg = f"acf.dims={values.dims} is not ('y', 'x', 'delay')"
        raise ValueError(msg)
    if 'delay' not in values.coords:
        msg = 'acf has no delay coordinate'
        raise ValueError(msg)
    return values, errors


def _check_range(fit_range: Any) -> tuple[float, float]:
    try:
        low, high = fit_range
    except (TypeError, ValueError):
        msg = f'fit_range={fit_range!r} is not a pair (min, max) of delays'
        raise TypeError(msg) from None
    low = check_real(low, 'fit_range[0]', minimum=0.0)
    high = check_real(high, 'fit_range[1]')
    if not high > low:
        msg = f'fit_range={fit_range!r} must have max > min'
        raise ValueError(msg)
    return low, high


def _fit_names(components: int) -> list[str]:
    names = ['N', 'N_error', 'D', 'D_error']
    if components == 2:
        names += ['D2', 'D2_error', 'F2', 'F2_error']
    return [*names, 'G_inf', 'G_inf_error', 'chi2']


def _fit_outputs(result: dict, components: int) -> dict[str, NDArray]:
    """Return N, D, ... and errors from fitted parameters."""
    p = result['params']
    cov = result['covariance']
    if components == 2:
        # component 2 is the faster one
        swap = p[:, 1] > p[:, 3]
        order = numpy.array([2, 3, 0, 1, 4])
        p = numpy.where(swap[:, None], p[:, order], p)
        cov = numpy.where(swap[:, None, None], cov[:, order][:, :, order], cov)
    amp = p[:, 0] + (p[:, 2] if components == 2 else 0.0)
    npar = p.shape[1]
    out = {}

    def error(gradient: NDArray) -> NDArray:
        with numpy.errstate(invalid='ignore'):
            var = numpy.einsum('pm,pmn,pn->p', gradient, cov, gradient)
            return numpy.sqrt(numpy.where(var >= 0, var, numpy.nan))

    with numpy.errstate(divide='ignore', invalid='ignore'):
        grad = numpy.zeros((len(p), npar))
        grad[:, 0] = -1.0 / amp**2
        if components == 2:
            grad[:, 2] = -1.0 / amp**2
        out['N'] = 1.0 / amp
        out['N_error'] = error(grad)
        for key, col in (('D', 1), ('D2', 3)):
            if key == 'D2' and components == 1:
                continue
            value = numpy.exp(p[:, col])
            grad = numpy.zeros((len(p), npar))
            grad[:, col] = value
            out[key] = value
            out[f'{key}_error'] = error(grad)
        if components == 2:
            grad = numpy.zeros((len(p), npar))
            grad[:, 0] = -p[:, 2] / amp**2
            grad[:, 2] = p[:, 0] / amp**2
            out['F2'] = p[:, 2] / amp
            out['F2_error'] = error(grad)
    grad = numpy.zeros((len(p), npar))
    grad[:, -1] = 1.0
    out['G_inf'] = p[:, -1]
    out['G_inf_error'] = error(grad)
    out['chi2'] = result['chi2']
    return out


def _bin_series(series: Any, n: int, nframes: int) -> NDArray:
    """Return sums of n x n pixel blocks of frames [0, nframes)."""
    _, height, width = (int(k) for k in series.shape)
    hb, wb = height // n, width // n
    dtype = numpy.dtype(series.dtype)
    acc = numpy.float64 if dtype.kind == 'f' else numpy.int64
    out = numpy.empty((nframes, hb, wb), acc)
    step = max(1, 2**25 // max(1, height * width * 8))
    for t0 in range(0, nframes, step):
        t1 = min(nframes, t0 + step)
        block = numpy.asarray(series[t0:t1, : hb * n, : wb * n], dtype=acc)
        out[t0:t1] = block.reshape(t1 - t0, hb, n, wb, n).sum(axis=(2, 4))
    return out


def _bin_mask(mask: NDArray[numpy.bool_], n: int) -> NDArray[numpy.bool_]:
    """Return which n x n blocks lie wholly inside the mask."""
    if n == 1:
        return mask
    hb, wb = mask.shape[0] // n, mask.shape[1] // n
    blocks = mask[: hb * n, : wb * n].reshape(hb, n, wb, n)
    return blocks.all(axis=(1, 3))


def _median(values: NDArray) -> float:
    values = values[numpy.isfinite(values)]
    return float(numpy.median(values)) if values.size else math.nan


def _median_error(values: NDArray) -> float:
    """Return the standard error of a median from the MAD."""
    values = values[numpy.isfinite(values)]
    if values.size < 2:
        return math.nan
    mad = numpy.median(numpy.abs(values - numpy.median(values)))
    return float(1.2533 * 1.4826 * mad / math.sqrt(values.size))


def _line(x: NDArray, y: NDArray, err: NDArray) -> dict[str, float]:
    """Return the weighted least-squares line y = intercept + slope x."""
    good = numpy.isfinite(x) & numpy.isfinite(y)
    x, y, err = x[good], y[good], err[good]
    nan = {
        'intercept': math.nan,
        'intercept_error': math.nan,
        'slope': math.nan,
        'slope_error': math.nan,
        'D_eff': math.nan,
    }
    if x.size < 2:
        return nan
    weight = numpy.ones_like(y)
    ok = numpy.isfinite(err) & (err > 0)
    if ok.all():
        weight = 1.0 / err**2
    design = numpy.stack([numpy.ones_like(x), x], axis=1)
    normal = design.T @ (design * weight[:, None])
    cov = numpy.linalg.inv(normal)
    coef = cov @ (design.T @ (weight * y))
    if x.size > 2:
        residual = y - design @ coef
        chi2 = float((weight * residual**2).sum()) / (x.size - 2)
        if not ok.all():
            cov = cov * chi2
        else:
            cov = cov * max(chi2, 1.0)
    intercept, slope = (float(c) for c in coef)
    return {
        'intercept': intercept,
        'intercept_error': float(math.sqrt(cov[0, 0])),
        'slope': slope,
        'slope_error': float(math.sqrt(cov[1, 1])),
        'D_eff': 1.0 / slope if slope != 0 else math.nan,
    }
