"""Image-derived mean square displacement (iMSD).

The spatiotemporal correlation of an image series (:func:`ipcf.stics`)
is, for particles moving in a field, a Gaussian peak that spreads with
the delay: its squared width ``sigma2(tau)`` grows by the particles'
mean square displacement, and its centre moves with their drift.
:func:`imsd` fits that Gaussian at every delay and then a model of
motion to ``sigma2(tau)``, over the whole field or, with `block`, in
blocks of it (maps of D, alpha, L, sigma0 and v):

- ``'free'``: ``sigma2 = sigma0² + 4 D tau``;
- ``'anomalous'``: ``sigma2 = sigma0² + 4 D tau**alpha``;
- ``'confined'``: ``sigma2 = sigma0² + L² / 3 (1 - exp(-tau / tau_c))``,
  particles in square domains of side ``L``;
- ``'flow'``: ``sigma2`` as free, and the centre moves as ``v tau``.

:func:`fit_gaussians` and :func:`fit_model` are the two steps, for use
on their own; :class:`ImsdAnalysis` computes the local maps block by
block through :func:`ipcf.pipeline.run`, for series larger than memory.
Local maps keep the STICS of each block at a few delays (`keep_stics`);
:func:`block_stics` returns that of one block, as :func:`ipcf.stics`
returns the STICS of a field.

"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy

from ._validate import (
    check_any,
    check_choice,
    check_int,
    check_mask,
    check_positive,
    check_series,
)

if TYPE_CHECKING:
    import xarray
    from numpy.typing import ArrayLike, NDArray

    from .store import Schema

__all__ = [
    'MODELS',
    'ImsdAnalysis',
    'ImsdPlan',
    'block_stics',
    'fit_gaussians',
    'fit_model',
    'imsd',
    'imsd_model',
]

MODELS = ('free', 'anomalous', 'confined', 'flow')
"""Models of motion that :func:`imsd` fits."""

PARAMETERS = {
    'free': ('sigma0', 'D'),
    'anomalous': ('sigma0', 'D', 'alpha'),
    'confined': ('sigma0', 'L', 'L_gaussian', 'tau_c', 'D'),
    'flow': ('sigma0', 'D', 'vx', 'vy', 'speed', 'direction'),
}
"""Parameters reported by each model, each with ``<name>_error``."""

UNITS = {
    'sigma0': 'um',
    'D': 'um^2/s (um^2/s^alpha for anomalous)',
    'alpha': '1',
    'L': 'um',
    'L_gaussian': 'um',
    'tau_c': 's',
    'vx': 'um/s',
    'vy': 'um/s',
    'speed': 'um/s',
    'direction': 'degrees from x toward y',
    'sigma2': 'um^2',
    'centre_x': 'um',
    'centre_y': 'um',
}
"""Units of the variables of :func:`imsd`."""

# a Gaussian fit whose relative error of sigma2 exceeds this is not used
_MAX_RELATIVE_ERROR = 0.5

# delays of each block's STICS that local maps keep by default: delay 0
# and the four that ipcf.plot.stics_images then draws
_KEEP_STICS = 5


def imsd(
    data: ArrayLike | xarray.DataArray,
    *,
    pixel_size: float | None = None,
    dt: float | None = None,
    model: str = 'free',
    max_delay: int = 32,
    nbins: int | None = None,
    max_shift: int | None = None,
    subtract_immobile: int | None = None,
    mask: ArrayLike | None = None,
    offset: float = 0.0,
    block: int | None = None,
    step: int | None = None,
    keep_stics: int | Sequence[int] = _KEEP_STICS,
    fit_radius: float | None = 2.0,
    num_threads: int | None = None,
    progress: bool = False,
) -> xarray.Dataset:
    """Return the iMSD of an image series and its fit to a model of motion.

    Parameters
    ----------
    data : array_like, shape (T, H, W), or xarray.DataArray
        Image time series (as for :func:`ipcf.stics`), or the result of
        :func:`ipcf.stics`, whose options then hold.
    pixel_size : float, optional
        Pixel size in µm, > 0. None (default): that recorded by
        :func:`ipcf.stics`, else 1.
    dt : float, optional
        Frame interval in seconds, > 0. None (default): that recorded by
        :func:`ipcf.stics`, else 1.
    model : {'free', 'anomalous', 'confined', 'flow'}, optional
        Model fitted to ``sigma2(tau)`` (and the centre for ``'flow'``);
        see the module's summary and Notes.
    max_delay, nbins, max_shift, subtract_immobile, mask, offset :
        Options of :func:`ipcf.stics` for a series. With `block`,
        `max_shift` defaults to ``min(16, (block - 1) // 2)``.
    block : int, optional
        Side in pixels of square blocks analysed each on its own (local
        STICS), at least 4: the result is maps over the image. None
        (default): the whole field at once.
    step : int, optional
        Distance in pixels between the origins of neighbouring blocks,
        at least 1. None (default): `block` (blocks do not overlap).
    keep_stics : int or sequence of int, optional, default: 5
        With `block`, the delays of each block's STICS that the result
        keeps (variable ``stics``; :func:`block_stics` returns one
        block's): an int keeps that many, delay 0 and the others spread
        evenly over the computed delays (0 keeps none, more than there
        are keeps all); a sequence gives the delays in frames, each one
        of those computed. Each kept delay costs
        ``(2 max_shift + 1)**2`` float32 values per block.
    fit_radius : float or None, optional, default: 2.0
        Fit each Gaussian again within ``fit_radius * sqrt(sigma2)`` of
        its centre (:func:`fit_gaussians`); None fits the whole window.
    num_threads : int, optional
        Workers of the FFTs; ``None`` uses all cores.
    progress : bool, optional, default: False
        Show a progress bar.

    Returns
    -------
    xarray.Dataset
        Per delay (dim ``delay``, in s, with ``lag`` in frames):
        ``sigma2`` (µm²) and ``centre_x``, ``centre_y`` (µm) of the
        fitted Gaussian, each with ``<name>_error``, its ``amplitude``
        and ``baseline``, ``used`` (whether the point entered the model
        fit) and ``sigma2_fit`` (the model). Scalars: the model's
        parameters (:data:`PARAMETERS`) with ``<name>_error``, and
        ``chi2`` (reduced). With `block`, every variable has the leading
        dims ``('y', 'x')``, the blocks' centres in input pixels,
        ``mean`` holds each block's mean intensity and ``stics`` (dims
        ``('y', 'x', 'stics_delay', 'eta', 'xi')``, coordinates
        ``stics_delay`` in s and ``stics_lag`` in frames) its kept
        STICS. ``attrs`` hold the model, units and the options.

    Raises
    ------
    TypeError
        If `data` is not numeric or an option has the wrong type.
    ValueError
        If an option is out of range, or fewer usable delays remain than
        the model has parameters.

    Notes
    -----
    At each delay the correlation is fitted by least squares with::

        G(xi, eta) = amplitude exp(-((xi - x0)² + (eta - y0)²) / sigma2)
                     + baseline

    over all shifts of the window but ``(0, 0)`` at delay 0, which holds
    the photon noise, and then again over the shifts within `fit_radius`
    widths of the peak: the slowly changing large-scale patterns of
    density bend the background under a wide window, and the core fit
    cut the spread of D over repeated simulations from 11 % to 4 %
    (48x48 pixels, 2048 frames). For a Gaussian PSF of 1/e² radius ``w``,
    ``sigma2(0) = sigma0² = w² + a² / 3`` with pixels of side ``a``, and
    ``sigma2(tau) - sigma0²`` is the two-dimensional mean square
    displacement. The model is then fitted to ``sigma2`` weighted by the
    inverse squared errors of the Gaussian fits; the parameters' errors
    are scaled by the reduced chi-square. They treat the delays as
    independent, which they are not (every delay sees the same
    particles), so they understate the spread from one recording to the
    next: D varied by 3-4 % between simulations of 48x48 pixels and
    4096 frames whose fits claimed errors below 1 %. Points whose
    relative error of ``sigma2`` exceeds 0.5 (a Gaussian lost in the
    noise) are left out.

    ``'confined'``: particles confined in squares of side ``L`` spread
    over ``L² / 3`` at long delays (the variance of the difference of two
    uniform positions in a square). Their correlation then is the PSF's
    convolved with a triangle along x and y, flatter than a Gaussian, so
    the Gaussian fit finds it wider: ``L_gaussian``, from ``L² / 3``
    alone, was 4 % (L = 0.3 µm) and 10 % (0.6 µm) too large on exact
    patterns. ``L`` is the side of the square whose exact plateau,
    fitted as the data were, is as wide as the data's: within 10 % of
    the truth on every simulation tried (docs/validation.md).
    ``tau_c`` relates to the diffusion coefficient within a domain as
    ``D = L² / (12 tau_c)``, which is reported, but the early spread of
    confined particles is not Gaussian either, and that ``D`` came out
    30-45 % low: take D from a free fit of the first delays.

    ``'flow'``: ``x0 = x00 + vx tau`` and ``y0 = y00 + vy tau`` are
    fitted weighted by their errors; ``direction`` is ``atan2(vy, vx)``
    in degrees (y runs down the rows).

    References
    ----------
    .. [1] Di Rienzo C, Gratton E, Beltram F, Cardarelli F. Fast
       spatiotemporal correlation spectroscopy to determine protein
       lateral diffusion laws in live cell membranes. PNAS 110: 12307
       (2013).

    Examples
    --------
    >>> from ipcf import simulate
    >>> sim = simulate.free(shape=(512, 32, 32), diffusion=1.0, seed=0)
    >>> result = imsd(sim.data, pixel_size=0.1, dt=1e-3, max_delay=8,
    ...               offset=100.0)
    >>> result['sigma2'].dims, result.attrs['model']
    (('delay',), 'free')
    >>> 0.5 < float(result['D']) < 2.0
    True

    """
    import xarray

    from . import __version__
    from .stics import correlate_blocks, stics, stics_delays

    model = check_choice(model, 'model', MODELS)
    if fit_radius is not None:
        fit_radius = check_positive(fit_radius, 'fit_radius')
    if isinstance(data, xarray.DataArray):
        if block is not None:
            msg = 'block needs the image series, not a STICS result'
            raise ValueError(msg)
        if data.dims != ('delay', 'eta', 'xi'):
            msg = (
                f'data.dims={data.dims} are not those of a STICS result '
                "('delay', 'eta', 'xi')"
            )
            raise ValueError(msg)
        correlation = data
        pixel_size = _unit(pixel_size, 'pixel_size', data.attrs)
        dt = _unit(dt, 'dt', data.attrs)
        lags = numpy.asarray(data['lag'], numpy.float64)
        fits = fit_gaussians(
            numpy.asarray(correlation, numpy.float64),
            lags=lags,
            pixel_size=pixel_size,
            radius=fit_radius,
        )
        shift = (correlation.sizes['xi'] - 1) // 2
        params = fit_model(
            fits,
            lags * dt,
            model=model,
            shape=(pixel_size, shift),
            radius=fit_radius,
        )
        return _dataset(
            fits,
            params,
            lags=lags,
            dt=dt,
            attrs={
                **{k: v for k, v in data.attrs.items() if k != 'version'},
                'model': model,
                'pixel_size': pixel_size,
                'dt': dt,
                'fit_radius': fit_radius,
                'version': __version__,
            },
        )
    pixel_size = _unit(pixel_size, 'pixel_size', {})
    dt = _unit(dt, 'dt', {})
    if block is None:
        if step is not None:
            msg = 'step needs block'
            raise ValueError(msg)
        correlation = stics(
            data,
            max_delay=max_delay,
            nbins=nbins,
            max_shift=max_shift,
            subtract_immobile=subtract_immobile,
            mask=mask,
            offset=offset,
            dt=dt,
            pixel_size=pixel_size,
            num_threads=num_threads,
            progress=progress,
        )
        return imsd(correlation, model=model, fit_radius=fit_radius)

    # local iMSD: STICS of every block in one pass over the frames
    from ._utils import number_threads
    from ._validate import check_real
    from .stics import _check_shift, _check_window

    data, shape = check_series(data, min_frames=2)
    nframes, height, width = shape
    block = check_int(block, 'block', minimum=4)
    if block > min(height, width):
        msg = f'{block=} must not exceed the image size {height}x{width}'
        raise ValueError(msg)
    step = block if step is None else check_int(step, 'step', minimum=1)
    delays = stics_delays(max_delay, nbins=nbins, nframes=nframes)
    kept = _kept_delays(keep_stics, delays)
    if max_shift is None:
        max_shift = min(16, (block - 1) // 2)
    max_shift = _check_shift(max_shift, block, block)
    window = _check_window(subtract_immobile)
    offset = check_real(offset, 'offset', minimum=0.0)
    workers = number_threads(num_threads)
    if mask is None:
        mask_array = numpy.ones((height, width), bool)
    else:
        mask_array = check_mask(mask, (height, width))
        check_any(mask_array, name='mask')
    ys = numpy.arange(0, height - block + 1, step)
    xs = numpy.arange(0, width - block + 1, step)
    origins = numpy.stack(
        numpy.meshgrid(ys, xs, indexing='ij'), axis=-1
    ).reshape(-1, 2)
    values, means = correlate_blocks(
        data,
        delays,
        size=(block, block),
        origins=origins,
        mask=mask_array,
        max_shift=max_shift,
        window=window,
        offset=offset,
        workers=workers,
        progress=progress,
    )
    lags = delays.astype(numpy.float64)
    results = []
    for index in range(len(origins)):
        fits = fit_gaussians(
            values[:, index].astype(numpy.float64),
            lags=lags,
            pixel_size=pixel_size,
            radius=fit_radius,
        )
        try:
            params = fit_model(
                fits,
                lags * dt,
                model=model,
                shape=(pixel_size, max_shift),
                radius=fit_radius,
            )
        except ValueError:
            params = _nan_parameters(model, len(lags))
        results.append((fits, params))
    grid = (len(ys), len(xs))
    centre = (block - 1) / 2.0
    kept_values = numpy.moveaxis(values[kept], 1, 0)
    return _maps(
        results,
        grid,
        means.reshape(grid),
        lags=lags,
        dt=dt,
        y=ys + centre,
        x=xs + centre,
        stics=(kept_values.reshape(*grid, *kept_values.shape[1:]), kept),
        attrs={
            'model': model,
            'block': block,
            'step': step,
            'max_delay': int(delays[-1]),
            'nbins': nbins,
            'max_shift': max_shift,
            'subtract_immobile': window,
            'offset': offset,
            'frames': nframes,
            'pixel_size': pixel_size,
            'dt': dt,
            'fit_radius': fit_radius,
            'masked': mask is not None,
            'version': __version__,
        },
    )


def _kept_delays(keep: Any, delays: NDArray[numpy.intp]) -> NDArray:
    """Return the indices into delays of the STICS delays to keep."""
    ndelays = len(delays)
    if isinstance(keep, Sequence | numpy.ndarray) and not isinstance(
        keep, str
    ):
        lags = [check_int(lag, 'keep_stics') for lag in keep]
        missing = sorted(set(lags) - {int(d) for d in delays})
        if missing:
            msg = (
                f'keep_stics={lags} has delays {missing} that are not '
                f'computed; the delays are {delays.tolist()} frames'
            )
            raise ValueError(msg)
        where = {int(d): k for k, d in enumerate(delays)}
        return numpy.array(sorted({where[lag] for lag in lags}), numpy.intp)
    count = check_int(keep, 'keep_stics', minimum=0)
    if count >= ndelays:
        return numpy.arange(ndelays, dtype=numpy.intp)
    if count == 0:
        return numpy.zeros(0, numpy.intp)
    spread = numpy.linspace(0, ndelays - 1, count)
    return numpy.unique(numpy.rint(spread).astype(numpy.intp))


def _unit(value: Any, name: str, attrs: dict) -> float:
    """Return value, else the one recorded in attrs, else 1."""
    if value is None:
        value = attrs.get(name, 1.0)
    return check_positive(value, name)


def imsd_model(
    tau: ArrayLike, *, model: str = 'free', **parameters: float
) -> NDArray[numpy.float64]:
    """Return ``sigma2(tau)`` in µm² of a model of :func:`imsd`.

    Parameters
    ----------
    tau : array_like
        Delays in seconds.
    model : {'free', 'anomalous', 'confined', 'flow'}, optional
        Model; ``'flow'`` spreads as ``'free'``.
    **parameters : float
        ``sigma0`` (µm) and ``D`` (free, flow), ``D`` and ``alpha``
        (anomalous), ``L`` (µm) and ``tau_c`` (s) (confined).

    Examples
    --------
    >>> imsd_model([0.0, 0.01], sigma0=0.25, D=1.0).round(4).tolist()
    [0.0625, 0.1025]
    >>> imsd_model([1e9], model='confined', sigma0=0.0, L=0.3,
    ...            tau_c=0.01).round(4).tolist()
    [0.03]

    """
    model = check_choice(model, 'model', MODELS)
    tau = numpy.asarray(tau, numpy.float64)
    s0 = parameters['sigma0'] ** 2
    if model in ('free', 'flow'):
        return s0 + 4.0 * parameters['D'] * tau
    if model == 'anomalous':
        return s0 + 4.0 * parameters['D'] * tau ** parameters['alpha']
    side = parameters['L']
    return s0 + side**2 / 3.0 * -numpy.expm1(-tau / parameters['tau_c'])


def fit_gaussians(
    correlation: ArrayLike,
    *,
    lags: ArrayLike | None = None,
    pixel_size: float = 1.0,
    radius: float | None = 2.0,
) -> dict[str, NDArray[numpy.float64]]:
    """Fit a Gaussian to the STICS function at every delay.

    Parameters
    ----------
    correlation : array_like, shape (ndelays, 2 S + 1, 2 S + 1)
        ``G(delay, eta, xi)`` for shifts ``-S..S`` (:func:`ipcf.stics`);
        NaN values are left out.
    lags : array_like, shape (ndelays,), optional
        Delays in frames; the zero shift of delay 0 (photon noise) is
        left out. None: ``0, 1, 2, ...``.
    pixel_size : float, optional, default: 1.0
        Pixel size in µm of the returned widths and centres.
    radius : float or None, optional, default: 2.0
        After a first fit over the whole window, fit again the shifts
        within ``radius * sqrt(sigma2)`` (at least 3 pixels) of the
        peak's centre, > 0. None: the whole window only.

    Returns
    -------
    dict of ndarray, each shape (ndelays,)
        ``sigma2`` (µm²), ``centre_x``, ``centre_y`` (µm),
        ``amplitude``, ``baseline`` and the ``<name>_error`` of each
        (from the Jacobian, scaled by the residuals). A fit that fails
        or runs to a bound is NaN.

    Examples
    --------
    >>> s = numpy.arange(-4, 5)
    >>> g = numpy.exp(-((s[None, :] - 1.0)**2 + s[:, None]**2) / 3.0)
    >>> fits = fit_gaussians(g[None] + 0.1, lags=[1])
    >>> [round(float(fits[k][0]), 3) for k in ('sigma2', 'centre_x')]
    [3.0, 1.0]

    """
    if radius is not None:
        radius = check_positive(radius, 'radius')
    values = numpy.asarray(correlation, numpy.float64)
    if values.ndim != 3 or values.shape[1] != values.shape[2]:
        msg = f'correlation.shape={values.shape} is not (ndelays, n, n)'
        raise ValueError(msg)
    if values.shape[1] % 2 == 0 or values.shape[1] < 3:
        msg = f'correlation.shape={values.shape}: n must be odd and >= 3'
        raise ValueError(msg)
    ndelays, size = values.shape[:2]
    shift = size // 2
    lags_array = (
        numpy.arange(ndelays, dtype=numpy.float64)
        if lags is None
        else numpy.asarray(lags, numpy.float64)
    )
    if lags_array.shape != (ndelays,):
        msg = f'lags has {lags_array.size} values for {ndelays} delays'
        raise ValueError(msg)
    pixel_size = check_positive(pixel_size, 'pixel_size')
    grid = numpy.arange(-shift, shift + 1, dtype=numpy.float64)
    eta, xi = numpy.meshgrid(grid, grid, indexing='ij')
    names = ('amplitude', 'centre_x', 'centre_y', 'sigma2', 'baseline')
    out = {
        key: numpy.full(ndelays, numpy.nan)
        for name in names
        for key in (name, f'{name}_error')
    }
    upper_s2 = (2.0 * size) ** 2
    lower = (0.0, -shift, -shift, 1e-3, -numpy.inf)
    upper = (numpy.inf, shift, shift, upper_s2, numpy.inf)
    previous = None
    for k in range(ndelays):
        g = values[k]
        use = numpy.isfinite(g)
        if lags_array[k] == 0:
            use[shift, shift] = False
        if use.sum() < 8:
            continue
        guess = _guess(g, use, grid, previous)
        if guess is None:
            continue
        fit = _fit_one(xi[use], eta[use], g[use], guess, lower, upper)
        if fit is not None and radius is not None:
            # refit the peak's core, where the background's shape matters less
            reach = max(3.0, radius * math.sqrt(fit.x[3]))
            core = use & (
                (xi - fit.x[1]) ** 2 + (eta - fit.x[2]) ** 2 <= reach**2
            )
            if core.sum() >= 8:
                fit = _fit_one(
                    xi[core], eta[core], g[core], fit.x, lower, upper
                )
        if fit is None:
            continue
        p = fit.x
        if (
            not fit.success
            or p[3] >= 0.99 * upper_s2
            or p[0] <= 0.0
            or max(abs(p[1]), abs(p[2])) >= shift - 0.5
        ):
            continue  # no peak, or one that left the window
        errors = _errors(fit.jac, fit.fun, len(p))
        previous = p
        scale = (1.0, pixel_size, pixel_size, pixel_size**2, 1.0)
        for name, value, error, unit in zip(
            names, p, errors, scale, strict=True
        ):
            out[name][k] = value * unit
            out[f'{name}_error'][k] = error * unit
    return out


def _fit_one(
    x: NDArray[numpy.float64],
    y: NDArray[numpy.float64],
    v: NDArray[numpy.float64],
    guess: NDArray[numpy.float64],
    lower: tuple[float, ...],
    upper: tuple[float, ...],
) -> Any:
    """Return the least-squares fit of one Gaussian, or None."""
    from scipy.optimize import least_squares

    guess = numpy.clip(
        guess, numpy.asarray(lower) + 1e-9, numpy.asarray(upper) - 1e-9
    )

    def residual(p):
        r2 = (x - p[1]) ** 2 + (y - p[2]) ** 2
        return p[0] * numpy.exp(-r2 / p[3]) + p[4] - v

    def jacobian(p):
        dx, dy = x - p[1], y - p[2]
        r2 = dx**2 + dy**2
        e = numpy.exp(-r2 / p[3])
        ge = p[0] * e / p[3]
        return numpy.stack(
            (e, 2 * ge * dx, 2 * ge * dy, ge * r2 / p[3], numpy.ones_like(e)),
            axis=1,
        )

    try:
        return least_squares(
            residual,
            guess,
            jac=jacobian,
            bounds=(lower, upper),
            x_scale='jac',
            method='trf',
        )
    except (ValueError, numpy.linalg.LinAlgError):  # pragma: no cover
        return None


def _guess(
    g: NDArray[numpy.float64],
    use: NDArray[numpy.bool_],
    grid: NDArray[numpy.float64],
    previous: NDArray[numpy.float64] | None,
) -> NDArray[numpy.float64] | None:
    """Return starting values (amplitude, x0, y0, sigma2, baseline)."""
    border = numpy.zeros_like(use)
    border[[0, -1], :] = border[:, [0, -1]] = True
    edge = g[border & use]
    baseline = float(numpy.median(edge)) if edge.size else 0.0
    peak = numpy.where(use, g - baseline, -numpy.inf)
    j, i = numpy.unravel_index(numpy.argmax(peak), g.shape)
    amplitude = float(peak[j, i])
    if not amplitude > 0.0:
        return None
    if previous is not None:
        s2 = float(previous[3])
    else:
        mass = float(numpy.clip(peak[use], 0.0, None).sum())
        s2 = max(mass / (math.pi * amplitude), 0.5)
    return numpy.array([amplitude, grid[i], grid[j], s2, baseline])


def _errors(
    jac: NDArray[numpy.float64], residuals: NDArray[numpy.float64], n: int
) -> NDArray[numpy.float64]:
    """Return standard errors from a least-squares Jacobian."""
    dof = max(1, len(residuals) - n)
    chi2 = float(residuals @ residuals) / dof
    try:
        cov = numpy.linalg.inv(jac.T @ jac) * chi2
    except numpy.linalg.LinAlgError:
        return numpy.full(n, numpy.nan)
    return numpy.sqrt(numpy.abs(numpy.diag(cov)))


def fit_model(
    fits: dict[str, NDArray[numpy.float64]],
    tau: ArrayLike,
    *,
    model: str = 'free',
    shape: tuple[float, int] | None = None,
    radius: float | None = 2.0,
) -> dict[str, Any]:
    """Fit a model of motion to the Gaussian widths (and centres).

    Parameters
    ----------
    fits : dict of ndarray
        What :func:`fit_gaussians` returns.
    tau : array_like, shape (ndelays,)
        Delays in seconds.
    model : {'free', 'anomalous', 'confined', 'flow'}, optional
        Model of :func:`imsd`.
    shape : (float, int), optional
        Pixel size in µm and largest shift in pixels of the STICS that
        the Gaussians were fitted to, with `radius` as given to
        :func:`fit_gaussians`: the confined model then reports as ``L``
        the side of the square whose plateau that fit sees as wide as
        the data's (see :func:`imsd`), and ``L_gaussian`` the side from
        ``L² / 3`` alone. None: both are the latter.
    radius : float or None, optional, default: 2.0
        The core radius of :func:`fit_gaussians`, for `shape`.

    Returns
    -------
    dict
        The parameters of :data:`PARAMETERS` with ``<name>_error``,
        ``chi2`` (reduced), ``used`` (bool per delay) and ``sigma2_fit``
        (the model at every delay).

    Raises
    ------
    ValueError
        If fewer usable delays remain than the model has parameters.

    Examples
    --------
    >>> tau = numpy.arange(8) * 1e-3
    >>> s2 = 0.0625 + 4 * 2.0 * tau
    >>> fits = {'sigma2': s2, 'sigma2_error': numpy.full(8, 1e-3)}
    >>> round(fit_model(fits, tau)['D'], 6)
    2.0

    """
    from scipy.optimize import least_squares

    model = check_choice(model, 'model', MODELS)
    tau = numpy.asarray(tau, numpy.float64)
    s2 = numpy.asarray(fits['sigma2'], numpy.float64)
    err = numpy.asarray(fits['sigma2_error'], numpy.float64)
    used = numpy.isfinite(s2) & numpy.isfinite(err) & (err > 0)
    used &= err <= _MAX_RELATIVE_ERROR * numpy.abs(s2)
    nparams = {'free': 2, 'flow': 2, 'anomalous': 3, 'confined': 3}[model]
    if used.sum() < nparams + 1:
        msg = (
            f'{int(used.sum())} delays have a usable Gaussian fit; the '
            f'{model!r} model needs at least {nparams + 1}'
        )
        raise ValueError(msg)
    t, y, e = tau[used], s2[used], err[used]
    # free diffusion by weighted linear regression: the start of the others
    a = numpy.stack((numpy.ones_like(t), 4.0 * t), axis=1) / e[:, None]
    (s0, d), *_ = numpy.linalg.lstsq(a, y / e, rcond=None)
    if model in ('free', 'flow'):
        start = numpy.array([s0, d])

        def curve(p, t):
            return p[0] + 4.0 * p[1] * t

    elif model == 'anomalous':
        start = numpy.array([s0, max(d, 1e-9), 1.0])
        t = numpy.where(t > 0, t, 0.0)

        def curve(p, t):
            return p[0] + 4.0 * p[1] * t ** p[2]

    else:
        plateau = max(float(y.max() - s0), 1e-9)
        side2 = 3.0 * plateau
        start = numpy.array([s0, side2, side2 / (12.0 * max(d, 1e-9))])

        def curve(p, t):
            return p[0] + p[1] / 3.0 * -numpy.expm1(-t / p[2])

    def residual(p):
        return (curve(p, t) - y) / e

    if model in ('free', 'flow'):
        p = start
        jac = a
        fun = residual(p)
    else:
        lower = [-numpy.inf, 0.0, 1e-3 if model == 'anomalous' else 1e-12]
        upper = [numpy.inf, numpy.inf, 3.0 if model == 'anomalous' else 1e6]
        start = numpy.clip(start, numpy.add(lower, 1e-9), upper)
        fit = least_squares(
            residual, start, bounds=(lower, upper), x_scale='jac'
        )
        p, jac, fun = fit.x, fit.jac, fit.fun
    errors = _errors(jac, fun, len(p))
    dof = max(1, len(t) - len(p))
    out: dict[str, Any] = {'chi2': float(fun @ fun) / dof}
    sigma0 = math.sqrt(max(p[0], 0.0))
    out['sigma0'] = sigma0
    out['sigma0_error'] = (
        float(errors[0] / (2 * sigma0)) if sigma0 else math.nan
    )
    if model in ('free', 'flow', 'anomalous'):
        out['D'], out['D_error'] = float(p[1]), float(errors[1])
    if model == 'anomalous':
        out['alpha'], out['alpha_error'] = float(p[2]), float(errors[2])
    if model == 'confined':
        side = math.sqrt(p[1])
        out['L_gaussian'] = side
        out['L_gaussian_error'] = (
            float(errors[1] / (2 * side)) if side else math.nan
        )
        if shape is not None and side > 0:
            # the plateau's Gaussian width as the same fit sees a square
            pixel, shift = shape
            true = _square_side(p[0], p[1], pixel, shift, radius)
            out['L'] = true
            out['L_error'] = out['L_gaussian_error'] * true / side
        else:
            out['L'], out['L_error'] = side, out['L_gaussian_error']
        out['tau_c'], out['tau_c_error'] = float(p[2]), float(errors[2])
        d_conf = p[1] / (12.0 * p[2])
        rel = math.hypot(errors[1] / p[1], errors[2] / p[2])
        out['D'], out['D_error'] = float(d_conf), float(d_conf * rel)
    if model == 'flow':
        out.update(_drift(fits, tau, used))
    out['used'] = used
    out['sigma2_fit'] = curve(p, numpy.where(tau > 0, tau, 0.0))
    return out


def _square_side(
    sigma0_2: float,
    side2: float,
    pixel: float,
    shift: int,
    radius: float | None,
) -> float:
    """Return the square's side whose plateau fits as wide as the data's.

    At long delays a particle is anywhere in its square: the correlation
    is the PSF's ``exp(-r² / sigma0²)`` convolved, along x and along y,
    with the triangle ``1 - |u| / L`` (a uniform position's difference).
    Its variance is that of a Gaussian of ``sigma0² + L² / 3``, but its
    shape is flatter, so the Gaussian fit finds it wider. The side is
    found whose pattern, fitted as the data were, gives the plateau
    ``sigma0² + side2 / 3`` measured (``side2`` is ``L_gaussian²``).

    """
    from scipy.optimize import brentq

    s0 = max(sigma0_2, 1e-6) / pixel**2
    target = (side2 / 3.0) / pixel**2 + s0
    grid = numpy.arange(-shift, shift + 1, dtype=numpy.float64)

    def width(side: float) -> float:
        # per axis: the triangle sampled finely, convolved with the PSF
        u = numpy.linspace(-side, side, 201)
        weight = 1.0 - numpy.abs(u) / side
        profile = (weight * numpy.exp(-((grid[:, None] - u) ** 2) / s0)).sum(
            axis=1
        )
        pattern = profile[:, None] * profile[None, :]
        fit = fit_gaussians(
            pattern[None] / pattern.max(), lags=[1], radius=radius
        )
        return float(fit['sigma2'][0]) - target

    gauss = math.sqrt(side2) / pixel
    low, high = 0.05 * gauss, 1.5 * gauss
    try:
        if width(low) > 0 or width(high) < 0:
            return gauss * pixel
        return float(brentq(width, low, high, xtol=1e-4 * gauss)) * pixel
    except ValueError:  # pragma: no cover - a fit that failed
        return gauss * pixel


def _drift(
    fits: dict[str, NDArray[numpy.float64]],
    tau: NDArray[numpy.float64],
    used: NDArray[numpy.bool_],
) -> dict[str, float]:
    """Return the velocity from weighted lines through the centres."""
    out = {}
    velocity = []
    for axis in ('x', 'y'):
        c = numpy.asarray(fits[f'centre_{axis}'], numpy.float64)
        e = numpy.asarray(fits[f'centre_{axis}_error'], numpy.float64)
        ok = used & numpy.isfinite(c) & numpy.isfinite(e) & (e > 0)
        a = numpy.stack((numpy.ones(ok.sum()), tau[ok]), axis=1) / e[ok, None]
        p, *_ = numpy.linalg.lstsq(a, c[ok] / e[ok], rcond=None)
        errors = _errors(a, a @ p - c[ok] / e[ok], 2)
        out[f'v{axis}'], out[f'v{axis}_error'] = float(p[1]), float(errors[1])
        velocity.append((p[1], errors[1]))
    (vx, ex), (vy, ey) = velocity
    speed = math.hypot(vx, vy)
    out['speed'] = speed
    out['speed_error'] = (
        math.hypot(vx * ex, vy * ey) / speed if speed else math.nan
    )
    out['direction'] = math.degrees(math.atan2(vy, vx))
    out['direction_error'] = (
        math.degrees(math.hypot(vy * ex, vx * ey) / speed**2)
        if speed
        else math.nan
    )
    return out


def _nan_parameters(model: str, ndelays: int) -> dict[str, Any]:
    """Return the parameters of a failed model fit, all NaN."""
    out: dict[str, Any] = {'chi2': math.nan}
    for name in PARAMETERS[model]:
        out[name] = out[f'{name}_error'] = math.nan
    out['used'] = numpy.zeros(ndelays, bool)
    out['sigma2_fit'] = numpy.full(ndelays, numpy.nan)
    return out


_CURVES = (
    'sigma2',
    'sigma2_error',
    'centre_x',
    'centre_x_error',
    'centre_y',
    'centre_y_error',
    'amplitude',
    'amplitude_error',
    'baseline',
    'baseline_error',
)


def _dataset(
    fits: dict[str, NDArray[numpy.float64]],
    params: dict[str, Any],
    *,
    lags: NDArray[numpy.float64],
    dt: float,
    attrs: dict[str, Any],
) -> xarray.Dataset:
    """Return the Dataset of one iMSD fit."""
    import xarray

    variables: dict[str, Any] = {
        name: (('delay',), fits[name]) for name in _CURVES
    }
    variables['used'] = (('delay',), params['used'])
    variables['sigma2_fit'] = (('delay',), params['sigma2_fit'])
    for name in (*PARAMETERS[attrs['model']], 'chi2'):
        variables[name] = ((), params[name])
        if name != 'chi2':
            variables[f'{name}_error'] = ((), params[f'{name}_error'])
    return xarray.Dataset(
        variables,
        coords={'delay': ('delay', lags * dt), 'lag': ('delay', lags)},
        attrs={**attrs, 'units': dict(UNITS)},
    )


def _maps(
    results: Sequence[tuple[dict, dict]],
    grid: tuple[int, int],
    means: NDArray[numpy.float64],
    *,
    lags: NDArray[numpy.float64],
    dt: float,
    y: NDArray[numpy.float64],
    x: NDArray[numpy.float64],
    stics: tuple[NDArray[numpy.float32], NDArray[numpy.intp]],
    attrs: dict[str, Any],
) -> xarray.Dataset:
    """Return the Dataset of the iMSD maps of blocks.

    `stics` holds the kept STICS of the blocks, (ny, nx, kept, 2 S + 1,
    2 S + 1), and the indices into the delays of the kept ones.

    """
    import xarray

    ndelays = len(lags)
    variables: dict[str, Any] = {}
    for name in _CURVES:
        stack = numpy.stack([fits[name] for fits, _ in results])
        variables[name] = (('y', 'x', 'delay'), stack.reshape(*grid, ndelays))
    for name in ('used', 'sigma2_fit'):
        stack = numpy.stack([params[name] for _, params in results])
        variables[name] = (('y', 'x', 'delay'), stack.reshape(*grid, ndelays))
    names = [*PARAMETERS[attrs['model']], 'chi2']
    names += [f'{n}_error' for n in PARAMETERS[attrs['model']]]
    for name in names:
        stack = numpy.array([params[name] for _, params in results], float)
        variables[name] = (('y', 'x'), stack.reshape(grid))
    variables['mean'] = (('y', 'x'), means)
    coords = {
        'y': ('y', y),
        'x': ('x', x),
        'delay': ('delay', lags * dt),
        'lag': ('delay', lags),
    }
    values, kept = stics
    if len(kept):
        variables['stics'] = (
            ('y', 'x', 'stics_delay', 'eta', 'xi'),
            values.astype(numpy.float32, copy=False),
        )
        coords.update(_stics_coords(lags[kept], dt, values.shape[-1]))
    return xarray.Dataset(
        variables, coords=coords, attrs={**attrs, 'units': dict(UNITS)}
    )


def _stics_coords(
    lags: NDArray[numpy.float64], dt: float, size: int
) -> dict[str, tuple[str, NDArray]]:
    """Return the coordinates of kept STICS delays and of the shifts."""
    shift = (size - 1) // 2
    shifts = numpy.arange(-shift, shift + 1)
    return {
        'stics_delay': ('stics_delay', lags * dt),
        'stics_lag': ('stics_delay', lags.astype(numpy.intp)),
        'eta': ('eta', shifts),
        'xi': ('xi', shifts),
    }


@dataclasses.dataclass(frozen=True, eq=False)
class ImsdPlan:
    """What :class:`ImsdAnalysis` computes for a series.

    Attributes
    ----------
    nframes : int
        Frames used (all).
    delays : tuple of int
        Delays of the STICS in frames.

    """

    nframes: int
    delays: tuple[int, ...]


class ImsdAnalysis:
    """Local iMSD maps as an analysis for the blocked pipeline.

    :func:`ipcf.pipeline.run` reads the series block by block with a
    halo and stores, for every result pixel, the iMSD of the square
    `window` centred on its tile: the result grid is cut into tiles of
    ``step x step`` pixels (from each pipeline block's corner; choose
    the pipeline's ``block`` a multiple of `step`, so that tiles line up
    across blocks), and every pixel of a tile holds that tile's values.
    The maps are thus at full resolution, constant over each tile;
    ``step=1`` gives the iMSD of the window centred on every pixel.

    Variables: the model's parameters, their errors, ``chi2`` and
    ``mean`` (y, x), and ``sigma2``, ``sigma2_error``, ``sigma2_fit``,
    ``centre_x`` and ``centre_y`` (y, x, delay), as :func:`imsd` with
    `block` returns them per block; and ``stics_tile`` (y, x,
    ``stics_value``), the tile's STICS at the kept delays spread over
    its pixels (one copy per tile), which :func:`block_stics` reads
    back.

    Parameters
    ----------
    window : int, optional, default: 32
        Side in pixels of the square analysed for each tile, at least 4
        (the `block` of :func:`imsd`).
    step : int, optional
        Side of the tiles in pixels, at least 1, at most `window`. None
        (default): `window`.
    model, max_delay, nbins, max_shift, subtract_immobile, offset, \
keep_stics, fit_radius :
        As for :func:`imsd`.
    pixel_size : float, optional, default: 1.0
        Pixel size in µm.

    Notes
    -----
    The pipeline passes the frame interval to :meth:`schema`, which it
    calls before any block; :meth:`compute` fits the models with it.

    The kept STICS of a tile, ``n = kept delays * (2 max_shift + 1)**2``
    values, fill its pixels in row-major order, ``k`` values each: the
    store grows by ``k`` float32 values per pixel, where ``k`` is ``n``
    over the pixels of the smallest tile, rounded up. Tiles are cut
    only at the far edges of the grid (and of pipeline blocks that are
    not a multiple of `step`), so a grid that is a multiple of `step`
    keeps ``k = ceil(n / step**2)``: about 5 values per pixel with the
    defaults (5 delays, shifts of 15 pixels, tiles of 32).

    Examples
    --------
    >>> analysis = ImsdAnalysis(window=16, step=8, max_delay=8)
    >>> analysis.name, analysis.halo, analysis.plan(64).delays[:3]
    ('imsd', (12, 12), (0, 1, 2))

    """

    name = 'imsd'
    nchannels = 1

    def __init__(
        self,
        *,
        window: int = 32,
        step: int | None = None,
        model: str = 'free',
        max_delay: int = 32,
        nbins: int | None = None,
        max_shift: int | None = None,
        subtract_immobile: int | None = None,
        offset: float = 0.0,
        pixel_size: float = 1.0,
        keep_stics: int | Sequence[int] = _KEEP_STICS,
        fit_radius: float | None = 2.0,
    ) -> None:
        from ._validate import check_real
        from .stics import _check_shift, _check_window, stics_delays

        self.window = check_int(window, 'window', minimum=4)
        self.step = (
            self.window
            if step is None
            else check_int(step, 'step', minimum=1, maximum=self.window)
        )
        self.model = check_choice(model, 'model', MODELS)
        self.max_delay = check_int(max_delay, 'max_delay', minimum=1)
        self.nbins = nbins
        self.delays = tuple(
            int(d) for d in stics_delays(self.max_delay, nbins=nbins)
        )
        if max_shift is None:
            max_shift = min(16, (self.window - 1) // 2)
        self.max_shift = _check_shift(max_shift, self.window, self.window)
        self.subtract_immobile = _check_window(subtract_immobile)
        self.offset = check_real(offset, 'offset', minimum=0.0)
        self.pixel_size = check_positive(pixel_size, 'pixel_size')
        self.fit_radius = (
            None
            if fit_radius is None
            else check_positive(fit_radius, 'fit_radius')
        )
        kept = _kept_delays(keep_stics, numpy.asarray(self.delays))
        self.keep_stics = tuple(self.delays[k] for k in kept)
        half = math.ceil((self.window + self.step) / 2)
        self.halo = (half, half)
        self.dt = 1.0
        # values of the kept STICS per pixel; fixed by schema()
        self.stics_values: int | None = None

    @property
    def min_frames(self) -> int:
        """Fewest frames analysed: one more than the longest delay."""
        return self.max_delay + 1

    def check_shape(self, height: int, width: int) -> None:
        """Raise ValueError if images leave no pixel beyond the halo."""
        need = 2 * self.halo[0] + 1
        if min(height, width) < need:
            msg = (
                f'{height}x{width} images are too small for window='
                f'{self.window} and step={self.step}: at least {need} '
                'pixels on each side'
            )
            raise ValueError(msg)

    def plan(self, nframes: int) -> ImsdPlan:
        """Return the plan for a series of nframes frames."""
        if nframes < self.min_frames:
            msg = (
                f'data has {nframes} frames; at least {self.min_frames} '
                'are needed'
            )
            raise ValueError(msg)
        return ImsdPlan(nframes, self.delays)

    def parameters(self) -> dict[str, Any]:
        """Return the options that define the analysis (JSON types)."""
        return {
            'model': self.model,
            'window': self.window,
            'step': self.step,
            'max_delay': self.max_delay,
            'nbins': self.nbins,
            'max_shift': self.max_shift,
            'subtract_immobile': self.subtract_immobile,
            'offset': self.offset,
            'pixel_size': self.pixel_size,
            'keep_stics': list(self.keep_stics),
            'fit_radius': self.fit_radius,
        }

    def _names(self) -> list[str]:
        names = list(PARAMETERS[self.model])
        return [*names, *(f'{n}_error' for n in names), 'chi2', 'mean']

    def schema(
        self,
        plan: ImsdPlan,
        grid: tuple[int, int],
        origin: tuple[int, int],
        *,
        dt: float,
        **extra: Any,
    ) -> Schema:
        """Return the store schema of a blocked run; fixes the frame time."""
        from . import __version__
        from .store import Schema, Variable

        self.dt = check_positive(dt, 'dt')
        ndelays = len(plan.delays)
        variables = {
            name: Variable(('y', 'x'), grid, 'float32')
            for name in self._names()
        }
        for name in _STORED_CURVES:
            variables[name] = Variable(
                ('y', 'x', 'delay'), (*grid, ndelays), 'float32'
            )
        if self.keep_stics:
            # tiles restart at each pipeline block's corner
            block = int(extra.get('block', max(grid)))
            rows = _tile_spans(grid[0], block, self.step)
            cols = _tile_spans(grid[1], block, self.step)
            smallest = min(b - a for a, b in rows) * min(
                b - a for a, b in cols
            )
            self.stics_values = -(-self._stics_size() // smallest)
            variables['stics_tile'] = Variable(
                ('y', 'x', 'stics_value'),
                (*grid, self.stics_values),
                'float32',
            )
        lags = numpy.asarray(plan.delays, numpy.float64)
        coords = {
            'y': (('y',), origin[0] + numpy.arange(grid[0])),
            'x': (('x',), origin[1] + numpy.arange(grid[1])),
            'delay': (('delay',), lags * self.dt),
            'lag': (('delay',), lags),
        }
        attrs = {
            **self.parameters(),
            'dt': self.dt,
            'frames': plan.nframes,
            'units': dict(UNITS),
            **extra,
            'version': __version__,
        }
        return Schema(variables, coords=coords, attrs=attrs)

    def _stics_size(self) -> int:
        """Return the number of values of one tile's kept STICS."""
        return len(self.keep_stics) * (2 * self.max_shift + 1) ** 2

    def compute(
        self,
        channels: list[Any],
        plan: ImsdPlan,
        mask: NDArray[numpy.bool_] | None,
        *,
        num_threads: int,
    ) -> dict[str, NDArray[numpy.float32]]:
        """Return the stored variables of one block (with its halo)."""
        from .stics import correlate_blocks

        series = channels[0]
        _, height, width = (int(n) for n in series.shape)
        half = self.halo[0]
        ny, nx = height - 2 * half, width - 2 * half
        ndelays = len(plan.delays)
        out = {
            name: numpy.full((ny, nx), numpy.nan, numpy.float32)
            for name in self._names()
        }
        for name in _STORED_CURVES:
            out[name] = numpy.full((ny, nx, ndelays), numpy.nan, numpy.float32)
        size = self._stics_size()
        if size:
            per_pixel = self.stics_values
            if per_pixel is None:  # no schema: this block's tiles decide
                rows = _tile_spans(ny, ny, self.step)
                cols = _tile_spans(nx, nx, self.step)
                smallest = min(b - a for a, b in rows) * min(
                    b - a for a, b in cols
                )
                per_pixel = -(-size // smallest)
            out['stics_tile'] = numpy.full(
                (ny, nx, per_pixel), numpy.nan, numpy.float32
            )
            kept = [plan.delays.index(lag) for lag in self.keep_stics]
        full = numpy.ones((height, width), bool) if mask is None else mask
        inner = full[half : half + ny, half : half + nx]
        tiles = [
            (ty, tx)
            for ty in range(0, ny, self.step)
            for tx in range(0, nx, self.step)
            if inner[ty : ty + self.step, tx : tx + self.step].any()
        ]
        if not tiles:
            return out
        shift = (self.step - self.window) // 2
        origins = numpy.array(
            [(half + ty + shift, half + tx + shift) for ty, tx in tiles],
            numpy.intp,
        )
        delays = numpy.asarray(plan.delays, numpy.intp)
        values, means = correlate_blocks(
            series[: plan.nframes],
            delays,
            size=(self.window, self.window),
            origins=origins,
            mask=full,
            max_shift=self.max_shift,
            window=self.subtract_immobile,
            offset=self.offset,
            workers=num_threads,
        )
        lags = delays.astype(numpy.float64)
        for index, (ty, tx) in enumerate(tiles):
            fits = fit_gaussians(
                values[:, index].astype(numpy.float64),
                lags=lags,
                pixel_size=self.pixel_size,
                radius=self.fit_radius,
            )
            try:
                params = fit_model(
                    fits,
                    lags * self.dt,
                    model=self.model,
                    shape=(self.pixel_size, self.max_shift),
                    radius=self.fit_radius,
                )
            except ValueError:
                params = _nan_parameters(self.model, ndelays)
            params['mean'] = means[index]
            rows = slice(ty, ty + self.step)
            cols = slice(tx, tx + self.step)
            for name in self._names():
                out[name][rows, cols] = params[name]
            for name in _STORED_CURVES:
                source = params if name == 'sigma2_fit' else fits
                out[name][rows, cols] = source[name]
            if size:
                target = out['stics_tile'][rows, cols]
                packed = numpy.full(target.size, numpy.nan, numpy.float32)
                packed[:size] = values[kept, index].reshape(-1)
                target[...] = packed.reshape(target.shape)
        for name, array in out.items():
            # a tile's STICS is spread over all its pixels, masked or not
            if name != 'stics_tile':
                array[~inner] = numpy.nan
        return out


def _tile_spans(size: int, block: int, step: int) -> list[tuple[int, int]]:
    """Return (start, stop) of the tiles along one axis of a grid.

    The grid is cut into blocks of `block` and each block into tiles of
    `step` from its start, as :meth:`ImsdAnalysis.compute` does.

    >>> _tile_spans(10, 8, 4)
    [(0, 4), (4, 8), (8, 10)]

    """
    spans = []
    for start in range(0, size, block):
        stop = min(start + block, size)
        spans.extend(
            (first, min(first + step, stop))
            for first in range(start, stop, step)
        )
    return spans


def block_stics(
    maps: xarray.Dataset, /, pixel: tuple[float, float]
) -> xarray.DataArray:
    """Return the kept STICS of the block of local maps at a pixel.

    Parameters
    ----------
    maps : xarray.Dataset
        Local maps of ``imsd(..., block=...)`` or of
        :class:`ImsdAnalysis` (as :func:`ipcf.load_result` reads them
        from the store of ``ipcf imsd --block``), of one plane.
    pixel : (y, x)
        A pixel in input coordinates: the block whose centre is nearest
        (``imsd``) or the tile that holds it (:class:`ImsdAnalysis`).

    Returns
    -------
    xarray.DataArray
        As :func:`ipcf.stics` returns it, dims ``('delay', 'eta',
        'xi')``, at the kept delays; :func:`imsd` fits it, and
        :func:`ipcf.plot.stics_images` draws it. ``attrs`` add
        ``block_origin`` (the block's first row and column in input
        pixels), ``block`` (its side) and ``pixel``.

    Raises
    ------
    ValueError
        If the maps keep no STICS, or the pixel is not in them.

    Examples
    --------
    >>> from ipcf import simulate
    >>> sim = simulate.free(shape=(128, 24, 24), seed=0)
    >>> maps = imsd(sim.data, block=12, max_delay=4, offset=100.0,
    ...             keep_stics=[1, 4])
    >>> g = block_stics(maps, (5, 17))
    >>> g.dims, g['lag'].values.tolist(), g.attrs['block_origin']
    (('delay', 'eta', 'xi'), [1, 4], [0, 12])

    """
    import xarray

    if not hasattr(pixel, '__len__') or len(pixel) != 2:
        msg = f'{pixel=} is not a (y, x) pair'
        raise ValueError(msg)
    y, x = (float(v) for v in pixel)
    ys = numpy.asarray(maps['y'].values, numpy.float64)
    xs = numpy.asarray(maps['x'].values, numpy.float64)
    attrs = maps.attrs
    if 'stics' in maps.data_vars:
        # imsd(block=): one value per block, at the blocks' centres
        side = int(attrs['block'])
        j = int(numpy.argmin(numpy.abs(ys - y)))
        i = int(numpy.argmin(numpy.abs(xs - x)))
        half = side / 2
        if abs(ys[j] - y) > half or abs(xs[i] - x) > half:
            msg = (
                f'pixel (y={y:g}, x={x:g}) is in no block of the maps, '
                f'whose centres are y {ys[0]:g}..{ys[-1]:g} and '
                f'x {xs[0]:g}..{xs[-1]:g}'
            )
            raise ValueError(msg)
        values = maps['stics'].values[j, i]
        lags = numpy.asarray(maps['stics_lag'].values, numpy.float64)
        shifts = maps['xi'].values
        origin = [int(ys[j] - (side - 1) / 2), int(xs[i] - (side - 1) / 2)]
        mean = float(maps['mean'].values[j, i])
    elif 'stics_tile' in maps.data_vars:
        side = int(attrs['window'])
        step = int(attrs['step'])
        j = int(numpy.rint(y - ys[0])) if ys.size else -1
        i = int(numpy.rint(x - xs[0])) if xs.size else -1
        if not (0 <= j < ys.size and 0 <= i < xs.size):
            msg = (
                f'pixel (y={y:g}, x={x:g}) is not in the maps, whose '
                f'pixels are y {ys[0]:g}..{ys[-1]:g} and x '
                f'{xs[0]:g}..{xs[-1]:g}'
            )
            raise ValueError(msg)
        block = int(attrs.get('block', max(ys.size, xs.size)))
        rows = _span_of(j, ys.size, block, step)
        cols = _span_of(i, xs.size, block, step)
        lags = numpy.asarray(attrs['keep_stics'], numpy.float64)
        shift = int(attrs['max_shift'])
        size = len(lags) * (2 * shift + 1) ** 2
        packed = maps['stics_tile'].values[slice(*rows), slice(*cols)]
        values = packed.reshape(-1)[:size].reshape(
            len(lags), *(2 * shift + 1,) * 2
        )
        shifts = numpy.arange(-shift, shift + 1)
        offset = (step - side) // 2
        origin = [int(ys[rows[0]]) + offset, int(xs[cols[0]]) + offset]
        mean = float(maps['mean'].values[j, i])
    else:
        msg = (
            'the maps keep no STICS (keep_stics=0); compute them again '
            'with keep_stics'
        )
        raise ValueError(msg)
    dt = float(attrs.get('dt', 1.0))
    keys = ('nbins', 'max_shift', 'subtract_immobile', 'offset', 'frames')
    return xarray.DataArray(
        numpy.asarray(values, numpy.float32),
        name='stics',
        dims=('delay', 'eta', 'xi'),
        coords={
            'delay': ('delay', lags * dt),
            'lag': ('delay', lags.astype(numpy.intp)),
            'eta': ('eta', shifts),
            'xi': ('xi', shifts),
        },
        attrs={
            'max_delay': int(lags[-1]) if lags.size else 0,
            **{k: attrs[k] for k in keys if k in attrs},
            'mean': mean,
            'dt': dt,
            'pixel_size': float(attrs.get('pixel_size', 1.0)),
            'block': side,
            'block_origin': origin,
            'pixel': [y, x],
        },
    )


def _span_of(index: int, size: int, block: int, step: int) -> tuple[int, int]:
    """Return (start, stop) of the tile along an axis that holds index."""
    start = index // block * block
    stop = min(start + block, size)
    first = start + (index - start) // step * step
    return first, min(first + step, stop)


_STORED_CURVES = (
    'sigma2',
    'sigma2_error',
    'sigma2_fit',
    'centre_x',
    'centre_y',
)
"""Curves per delay that :class:`ImsdAnalysis` stores."""
