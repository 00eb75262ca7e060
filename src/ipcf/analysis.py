"""Maps derived from a pCF result: diffusion, flow, barriers and channels.

A pCF result holds, for every pixel, one correlation curve per circle
point. :func:`maps` condenses it into images a biologist reads directly:

- where a correlation peak arrives and how strong it is, per pixel and
  direction (``peak_delay``, ``peak_amplitude``, ``peak_rise``), and
  whether there is one at all (``connected``): where molecules can go;
- the diffusion coefficient from a fit of the free-diffusion model
  (``D``), pooled over a region with its uncertainty;
- the first angular moment of the peak heights: the direction and
  strength of a flow (``flow_angle``, ``flow_strength``, ``flow_speed``);
- the second angular moment: the axis of a channel and how anisotropic
  the transport is (``axis_angle``, ``anisotropy``).

:func:`pcf_model` returns the model curves pushed through the same log
binning and smoothing as the data, and :func:`save_maps` /
:func:`load_maps` store the maps.

Angles are in radians, measured from the +x axis (columns, to the right)
toward the +y axis (rows, downward in an image display), as the result's
``angle`` coordinate, ``atan2(v, u)``. A flow to the right has angle 0, a
flow downward +pi/2.

"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy

from ._utils import jsonable
from ._validate import check_int, check_real
from .pcf import average_bins, smooth

if TYPE_CHECKING:
    import xarray
    from numpy.typing import ArrayLike, NDArray

__all__ = ['load_maps', 'maps', 'pcf_model', 'save_maps']

_GRID_STEP = 0.02
"""Step of the grid of log D searched by the fit (2 %)."""

_MODEL_VALUES = 2**22
"""Most model values (grid points x distances x delays) made at once."""

_SPEED_COS = math.cos(math.radians(45.0))
"""Points within 45 degrees of the flow direction give its speed."""

_CONVENTION = (
    'angles in radians from +x (columns) toward +y (rows, down in an '
    'image display), as atan2(v, u)'
)


def maps(
    result: xarray.DataArray,
    /,
    *,
    pixel_size: float,
    w: float,
    mask: ArrayLike | None = None,
    window: int = 1,
    threshold: float = 2.0,
    diffusion_range: tuple[float, float] | None = None,
) -> xarray.Dataset:
    """Return maps of diffusion, flow, anisotropy and connectivity.

    Parameters
    ----------
    result : xarray.DataArray
        pCF result of :func:`ipcf.pcf_image` or :func:`ipcf.load_result`,
        dims ``('y', 'x', 'point', 'delay')``, with its coordinates
        ``angle``, ``distance``, ``delay`` (s) and ``bin_edge``.
    pixel_size : float
        Pixel side in µm, > 0.
    w : float
        1/e² radius of the point spread function in µm, > 0.
    mask : array_like of bool, optional
        Pixels to analyse and to pool: shape ``(ny, nx)`` of the result
        grid, or an image mask that covers the result's ``y`` and ``x``
        coordinates (e.g. the ``(H, W)`` mask of the input). Other pixels
        are NaN. None (default) analyses every pixel.
    window : int, optional, default: 1
        Average the curves over a square of ``window`` x ``window``
        pixels around each pixel first (odd, >= 1). Lowers the noise of
        single-pixel curves at the cost of resolution.
    threshold : float, optional, default: 2.0
        A direction is ``connected`` if its ``peak_rise`` exceeds
        `threshold` times the noise level at the peak's delay, > 0.
    diffusion_range : (float, float), optional
        Smallest and largest D (µm²/s) the fit searches. None (default)
        covers peaks from half a frame to twice the longest delay.

    Returns
    -------
    xarray.Dataset
        On dims ``(y, x, point)``: ``peak_delay`` (s), ``peak_amplitude``,
        ``peak_rise`` and ``connected``. On dims ``(y, x)``: ``D``
        (µm²/s), ``D_error``, ``D_residual``, ``fit_amplitude``,
        ``flow_angle`` (rad),
        ``flow_strength``, ``flow_speed`` (µm/s), ``anisotropy`` and
        ``axis_angle`` (rad). On dim ``delay``: ``noise``. Coordinates as
        the result's. ``attrs`` hold the parameters and the pooled
        diffusion coefficient ``D_pooled`` with ``D_pooled_error``.

    Raises
    ------
    TypeError
        If `result` is not a labelled pCF result or an option has the
        wrong type.
    ValueError
        If an option is out of range or `mask` does not fit the result.

    Notes
    -----
    **Peaks.** For every curve the largest value among the bins of
    positive delay is found; a parabola in log delay through it and its
    two neighbours gives ``peak_delay`` and ``peak_amplitude``. A maximum
    in the first or last of those bins is no peak: ``peak_delay`` is NaN
    and ``peak_amplitude`` is the value there. ``peak_rise`` is the
    height of a peak above the curve's value at the first delay (one
    frame), 0 without a peak. Unlike the amplitude it ignores offsets
    that a short series adds to a whole curve, and the correlation that
    two pixels share at zero delay because both see the same molecules
    through the PSF: it measures transport, not overlap. Free diffusion
    to a point at distance ``d > w`` rises; across a barrier, against a
    flow or across a channel wall the curve only decays.

    **Noise and connectivity.** The noise level of ``G(tau) - G(dt)``
    in each delay bin is estimated over the whole map, robustly, from
    the difference of the curves of pixels ``s = 2 * ceil(radius) +
    window`` apart (further than the circle reaches, so the two
    estimates are nearly independent, and smooth structure cancels):
    ``1.4826 * median |g(p) - g(p + s)| / sqrt(2)`` over all pixels,
    points and both axes. ``connected`` is True where ``peak_rise >
    threshold * noise`` at the bin of the peak. On simulations of 8192
    frames with the default 2.0, 4-8 % of the directions across a
    barrier and 73-91 % of those along it were connected (`window` 1 to
    3); longer series and `window` raise the second number.

    **Diffusion.** The free-diffusion pCF of a Gaussian PSF toward a
    point at distance ``d`` is ``A (1 + 4 D tau / w²)**-1 exp(-d² / (w²
    + 4 D tau))``. Each pixel is fitted with one ``A`` and one ``D`` for
    all points: the model is evaluated at every integer delay, averaged
    in the result's bins and smoothed exactly as the data, with each
    point's exact rounded distance (binning and smoothing move a peak by
    -4 to +6 % at delays of 10-250 frames, by up to -20 % within a few
    frames, depending on where it falls among the bins). The
    pixel's square (``pixel_size``) broadens the PSF: ``w²`` is replaced
    by ``w² + pixel_size² / 3``, the variance two pixel boxes add. The
    fit searches a grid of log D in steps of 2 %, least squares with the
    best ``A`` in closed form (vectorized over pixels), then refines the
    minimum by a parabola. A minimum at the end of the grid gives NaN.
    ``D_error`` is the formal standard error from the curvature of the
    residual (it ignores that smoothing correlates the bins, so it is a
    lower bound); ``D_residual`` is the root of the residual over the
    root of the sum of squares of the curves (0: perfect fit), and
    ``fit_amplitude`` the fitted ``A``. The estimators of
    :func:`ipcf.pcf_image` subtract the measured means, which lowers the
    curves by their mean over all delays; the model is lowered alike
    (see :func:`pcf_model`).
    ``D_pooled`` is the fit of the mean curves over all finite pixels of
    the mask. Its ``D_pooled_error`` is the standard error over blocks of
    ``2 * radius + 1`` pixels on a side (nearly independent, unlike
    neighbouring pixels): the standard deviation of the blocks' fitted D
    over the root of their number (NaN with fewer than 2 blocks). It
    misses fluctuations that the whole field shares; over repeated
    simulations the pooled D scattered by 0.4 to 2 times this error.

    **Direction.** With ``A_i`` the peak rises and ``theta_i`` the
    point angles, ``sum A_i exp(1j theta_i) / sum A_i``
    gives the flow direction (``flow_angle``) and its strength (0 for
    isotropic transport, 1 if all correlation goes one way);
    ``|sum A_i exp(2j theta_i)| / sum A_i`` is the ``anisotropy`` and
    half its argument the ``axis_angle`` in ``(-pi/2, pi/2]``, the
    direction of a channel. ``flow_speed`` assumes flow-dominated
    transport, whose peak toward a point at distance ``d`` arrives near
    ``tau = d / s`` for a flow of speed ``s`` toward the point: each
    point's ``peak_delay`` gives the speed ``s_i`` of the pure flow
    whose binned and smoothed pCF (:func:`pcf_model`, ``D = 0``) peaks
    there (a plain ``d / tau`` is 10-15 % high as binning and smoothing
    move sharp peaks), and ``flow_speed`` is the mean of ``s_i
    cos(theta_i - flow_angle)`` weighted by ``A_i`` over the points
    within 45 degrees of the flow. Diffusion makes peaks earlier, so this
    overestimates the speed where ``s d`` is not well above ``4 D``.

    Angles follow the image: from +x (columns) toward +y (rows, down in
    a display), so ``pi / 2`` points down.

    Examples
    --------
    >>> import ipcf
    >>> sim = ipcf.simulate.free(shape=(2048, 20, 20), seed=0)
    >>> result = ipcf.pcf_image(sim.data, radius=4, npoints=8, dt=1e-3)
    >>> out = maps(result, pixel_size=0.1, w=0.25)
    >>> out['D'].dims, out['peak_delay'].shape
    (('y', 'x'), (12, 12, 8))
    >>> 1.0 < out.attrs['D_pooled'] < 16.0
    True

    """
    import xarray

    curves, info = _check_result(result)
    pixel_size = _check_positive(pixel_size, 'pixel_size')
    w = _check_positive(w, 'w')
    threshold = _check_positive(threshold, 'threshold')
    window = check_int(window, 'window', minimum=1)
    if window % 2 == 0:
        msg = f'{window=} must be odd'
        raise ValueError(msg)
    ny, nx, npoints, nbins = curves.shape
    keep = _check_mask(mask, result)
    if keep is not None:
        curves[~keep] = numpy.nan
    if window > 1:
        curves = _box_average(curves, window)
    finite = numpy.isfinite(curves).all(axis=(2, 3))
    curves[~finite] = numpy.nan

    delays = info['delays']
    distance = info['distance'] * pixel_size  # µm
    angle = info['angle']
    w2 = w * w + pixel_size * pixel_size / 3.0

    peak_delay, peak_amplitude, peak_bin = _peaks(curves, delays)
    # height above the first delay: offsets common to a curve cancel
    start = curves[..., 1]
    rise = numpy.where(numpy.isfinite(peak_delay), peak_amplitude - start, 0.0)
    rise = numpy.where(finite[..., None], rise, numpy.nan)
    reach = 2 * math.ceil(float(info['distance'].max())) + window
    noise = _noise(curves - curves[..., 1:2], reach)
    with numpy.errstate(invalid='ignore'):
        connected = rise > threshold * noise[peak_bin]

    grid = _diffusion_grid(
        diffusion_range, distance=distance, w2=w2, delays=delays
    )
    templates = _templates(grid, distance, w2, info)
    fit = _fit(curves.reshape(ny * nx, -1), templates, grid)
    fit = {key: value.reshape(ny, nx) for key, value in fit.items()}
    pooled = _pool(curves, finite, templates, grid, info['radius'])

    flow_angle, flow_strength, anisotropy, axis_angle = _moments(rise, angle)
    flow_speed = _speed(
        peak_delay, rise, flow_angle, angle, distance, w2, info
    )

    yx = ('y', 'x')
    yxp = ('y', 'x', 'point')
    variables = {
        'peak_delay': (yxp, peak_delay, 's', 'delay of the peak'),
        'peak_amplitude': (yxp, peak_amplitude, '1', 'pCF at the peak'),
        'peak_rise': (yxp, rise, '1', 'peak above the first delay'),
        'connected': (yxp, connected, '1', 'a significant peak exists'),
        'D': (yx, fit['D'], 'um^2/s', 'diffusion coefficient'),
        'D_error': (yx, fit['D_error'], 'um^2/s', 'formal error of D'),
        'D_residual': (yx, fit['D_residual'], '1', 'relative residual'),
        'fit_amplitude': (yx, fit['amplitude'], '1', 'A of the fit'),
        'flow_angle': (yx, flow_angle, 'rad', 'direction of transport'),
        'flow_strength': (yx, flow_strength, '1', 'first moment 0..1'),
        'flow_speed': (yx, flow_speed, 'um/s', 'speed if flow dominates'),
        'anisotropy': (yx, anisotropy, '1', 'second moment S 0..1'),
        'axis_angle': (yx, axis_angle, 'rad', 'axis of transport'),
        'noise': (('delay',), noise, '1', 'noise of G less G(dt)'),
    }
    data_vars = {
        name: xarray.Variable(
            dims, value, attrs={'units': units, 'long_name': text}
        )
        for name, (dims, value, units, text) in variables.items()
    }
    coords = {
        name: result.coords[name]
        for name in ('y', 'x', 'point', 'u', 'v', 'angle', 'distance')
    }
    coords['delay'] = result.coords['delay'].variable
    coords['bin_edge'] = result.coords['bin_edge'].variable
    attrs = {
        'pixel_size': pixel_size,
        'w': w,
        'dt': info['dt'],
        'radius': info['radius'],
        'window': window,
        'threshold': threshold,
        'diffusion_range': [float(grid[0]), float(grid[-1])],
        'D_pooled': pooled['D'],
        'D_pooled_error': pooled['D_error'],
        'D_pooled_pixels': pooled['pixels'],
        'D_pooled_blocks': pooled['blocks'],
        'angles': _CONVENTION,
    }
    return xarray.Dataset(data_vars, coords=coords, attrs=attrs)


def pcf_model(
    result: xarray.DataArray,
    /,
    *,
    diffusion: float,
    pixel_size: float,
    w: float,
    velocity: tuple[float, float] = (0.0, 0.0),
    amplitude: float = 1.0,
) -> xarray.DataArray:
    """Return model pCF curves binned and smoothed like a result.

    Parameters
    ----------
    result : xarray.DataArray
        pCF result whose circle points, bins, ``dt`` and mode the model
        follows; its values are not used.
    diffusion : float
        Diffusion coefficient in µm²/s, >= 0.
    pixel_size : float
        Pixel side in µm, > 0.
    w : float
        1/e² radius of the point spread function in µm, > 0.
    velocity : (float, float), optional, default: (0.0, 0.0)
        Flow velocity ``(vx, vy)`` in µm/s.
    amplitude : float, optional, default: 1.0
        Value of the unprocessed model at zero distance and delay.

    Returns
    -------
    xarray.DataArray, dims ('point', 'delay')
        The model curve of every circle point, with the result's
        ``point`` and ``delay`` coordinates.

    Notes
    -----
    ``G(tau) = amplitude (1 + 4 D tau / w'²)**-1 exp(-|d - v tau|² /
    (w'² + 4 D tau))`` with ``d = (u, v) * pixel_size`` the offset of the
    point and ``w'² = w² + pixel_size² / 3`` (see :func:`maps`), for
    every integer delay ``tau = k dt``, then :func:`ipcf.pcf.average_bins`
    and :func:`ipcf.pcf.smooth`. Linear-mode results get the factor
    ``1 - k / N`` of their estimator. The estimators subtract the
    measured means, so the expected circular curve is the model less its
    mean over all ``N`` delays (both directions); that is subtracted too.

    Examples
    --------
    >>> import ipcf
    >>> data = numpy.random.default_rng(0).poisson(100, (4096, 12, 12))
    >>> result = ipcf.pcf_image(data, radius=5, npoints=4, dt=1e-3)
    >>> model = pcf_model(result, diffusion=4.0, pixel_size=0.1, w=0.25)
    >>> model.dims
    ('point', 'delay')
    >>> float(model['delay'][int(model[0].argmax('delay'))])  # seconds
    0.012

    """
    import xarray

    _, info = _check_result(result, values=False)
    diffusion = check_real(diffusion, 'diffusion', minimum=0.0)
    pixel_size = _check_positive(pixel_size, 'pixel_size')
    w = _check_positive(w, 'w')
    amplitude = check_real(amplitude, 'amplitude')
    items = _pair(velocity, 'velocity')
    w2 = w * w + pixel_size * pixel_size / 3.0
    frames = _frames(info)
    tau = numpy.arange(frames // 2 + 1, dtype=numpy.float64) * info['dt']
    spread = w2 + 4.0 * diffusion * tau
    sides = []
    for sign in (1.0, -1.0):  # toward the point, and back from it
        dx = sign * info['u'][:, None] * pixel_size - items[0] * tau
        dy = sign * info['v'][:, None] * pixel_size - items[1] * tau
        sides.append(
            amplitude
            * (w2 / spread)
            * numpy.exp(-(dx * dx + dy * dy) / spread)
        )
    processed = _process(sides[0], sides[1], info)
    return xarray.DataArray(
        processed,
        dims=('point', 'delay'),
        coords={
            name: result.coords[name]
            for name in ('point', 'u', 'v', 'angle', 'distance', 'delay')
        },
        name='model',
        attrs={
            'diffusion': diffusion,
            'velocity': list(items),
            'pixel_size': pixel_size,
            'w': w,
        },
    )


def save_maps(
    maps: xarray.Dataset,
    path: str | os.PathLike[str],
    /,
    *,
    overwrite: bool = False,
) -> Path:
    """Write maps to netCDF (``.nc``), HDF5 (``.h5``) or zarr (``.zarr``).

    Parameters
    ----------
    maps : xarray.Dataset
        Result of :func:`maps`.
    path : str or path-like
        Output file; the suffix chooses the format. ``.nc`` is netCDF-3
        written by scipy; ``.h5`` holds one dataset per variable and
        coordinate with its dims and attributes as JSON; ``.zarr`` needs
        the zarr package.
    overwrite : bool, optional, default: False
        Replace an existing file. Otherwise raise FileExistsError.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    FileExistsError
        If `path` exists and `overwrite` is False.
    ValueError
        If the suffix is not ``.nc``, ``.h5`` (``.hdf5``) or ``.zarr``.

    Examples
    --------
    >>> import tempfile, xarray
    >>> data = xarray.Dataset({'D': (('y', 'x'), numpy.ones((2, 3)))})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_maps(data, f'{tmp}/maps.h5')
    ...     load_maps(path).identical(data)
    True

    """
    import xarray

    if not isinstance(maps, xarray.Dataset):
        msg = f'maps is a {type(maps).__name__}, not an xarray.Dataset'
        raise TypeError(msg)
    path = Path(path)
    kind = _file_kind(path)
    if path.exists() and not overwrite:
        msg = f'{str(path)!r} exists; pass overwrite=True to replace it'
        raise FileExistsError(msg)
    tmp = path.with_name(f'.{path.name}.tmp')
    _remove(tmp)
    try:
        if kind == 'nc':
            _encodable(maps).to_netcdf(tmp, engine='scipy')
        elif kind == 'h5':
            _write_h5(maps, tmp)
        else:
            try:
                import zarr  # noqa: F401
            except ImportError as exc:
                msg = "writing '.zarr' needs zarr; install ipcf[all]"
                raise ImportError(msg) from exc
            _encodable(maps).to_zarr(tmp, mode='w', consolidated=False)
        _remove(path)
        os.replace(tmp, path)
    finally:
        _remove(tmp)
    return path


def load_maps(path: str | os.PathLike[str], /) -> xarray.Dataset:
    """Return maps written by :func:`save_maps`.

    Parameters
    ----------
    path : str or path-like
        ``.nc``, ``.h5`` (``.hdf5``) or ``.zarr`` file.

    Returns
    -------
    xarray.Dataset

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ValueError
        If the suffix is not supported.

    """
    import xarray

    path = Path(path)
    kind = _file_kind(path)
    if not path.exists():
        msg = f'no such file: {str(path)!r}'
        raise FileNotFoundError(msg)
    if kind == 'h5':
        return _read_h5(path)
    engine = 'scipy' if kind == 'nc' else 'zarr'
    options = {'consolidated': False} if kind == 'zarr' else {}
    with xarray.open_dataset(path, engine=engine, **options) as dataset:
        loaded = dataset.load()
    return _decoded(loaded)


def _check_result(
    result: Any, *, values: bool = True
) -> tuple[NDArray[numpy.float64] | None, dict[str, Any]]:
    """Return the curves as float64 and what the analysis needs."""
    import xarray

    if not isinstance(result, xarray.DataArray):
        msg = (
            f'result is a {type(result).__name__}; expected the '
            'xarray.DataArray of ipcf.pcf_image or ipcf.load_result'
        )
        raise TypeError(msg)
    if result.dims != ('y', 'x', 'point', 'delay'):
        msg = f"result.dims={result.dims} are not ('y', 'x', 'point', 'delay')"
        raise ValueError(msg)
    missing = {'u', 'v', 'angle', 'distance', 'delay', 'bin_edge'} - set(
        result.coords
    )
    if missing:
        msg = f'result lacks the coordinates {sorted(missing)}'
        raise ValueError(msg)
    edges = numpy.asarray(result['bin_edge'].values, dtype=numpy.intp)
    delays = numpy.asarray(result['delay'].values, dtype=numpy.float64)
    if len(edges) < 3 or edges[0] != 1:
        msg = (
            f'result has bin edges {edges.tolist()}; expected at least 3 '
            'log bins starting with the zero delay alone'
        )
        raise ValueError(msg)
    dt = result.attrs.get('dt')
    if dt is None:
        dt = float(delays[1])  # bin 1 holds the delay of one frame
    radius = result.attrs.get('radius')
    if radius is None:
        radius = math.ceil(float(result['distance'].max()))
    info = {
        'edges': edges,
        'delays': delays,
        'dt': float(dt),
        'radius': int(radius),
        'u': numpy.asarray(result['u'].values, dtype=numpy.float64),
        'v': numpy.asarray(result['v'].values, dtype=numpy.float64),
        'angle': numpy.asarray(result['angle'].values, dtype=numpy.float64),
        'distance': numpy.asarray(
            result['distance'].values, dtype=numpy.float64
        ),
        'mode': result.attrs.get('mode', 'circular'),
        'frames': result.attrs.get('frames'),
    }
    if not values:
        return None, info
    curves = numpy.array(result.values, dtype=numpy.float64)
    return curves, info


def _check_positive(value: Any, name: str) -> float:
    """Return value as a finite float > 0 or raise."""
    return check_real(value, name, positive=True)


def _pair(value: Any, name: str) -> tuple[float, float]:
    """Return two finite numbers or raise."""
    try:
        items = tuple(value)
    except TypeError:
        items = ()
    if len(items) != 2 or isinstance(value, str):
        msg = f'{name}={value!r} is not a pair of numbers'
        raise TypeError(msg)
    return (
        check_real(items[0], f'{name}[0]'),
        check_real(items[1], f'{name}[1]'),
    )


def _check_mask(mask: Any, result: Any) -> NDArray[numpy.bool_] | None:
    """Return the mask on the result grid, or None."""
    if mask is None:
        return None
    mask = numpy.asarray(mask)
    if mask.dtype.kind not in 'bui':
        msg = f'mask.dtype={mask.dtype} is not boolean or integer'
        raise TypeError(msg)
    ys = numpy.asarray(result['y'].values)
    xs = numpy.asarray(result['x'].values)
    grid = (len(ys), len(xs))
    if mask.shape == grid:
        return mask.astype(bool)
    if (
        mask.ndim == 2
        and ys.min() >= 0
        and xs.min() >= 0
        and mask.shape[0] > ys.max()
        and mask.shape[1] > xs.max()
    ):
        return mask[numpy.ix_(ys, xs)].astype(bool)
    msg = (
        f'mask.shape={mask.shape} is neither the result grid {grid} nor '
        f'an image covering rows {ys.min()}..{ys.max()} and columns '
        f'{xs.min()}..{xs.max()}'
    )
    raise ValueError(msg)


def _box_average(curves: NDArray, window: int) -> NDArray:
    """Return curves averaged over window x window pixels, NaN-aware."""
    from scipy.ndimage import uniform_filter

    finite = numpy.isfinite(curves[..., 0, 0])
    filled = numpy.where(finite[..., None, None], curves, 0.0)
    size = (window, window, 1, 1)
    total = uniform_filter(filled, size=size, mode='constant')
    count = uniform_filter(finite.astype(numpy.float64), size=window)
    count = count[..., None, None]
    out = numpy.full_like(curves, numpy.nan)
    good = finite & (count[..., 0, 0] > 0)
    out[good] = total[good] / count[good]
    return out


def _peaks(
    curves: NDArray, delays: NDArray
) -> tuple[NDArray, NDArray, NDArray[numpy.intp]]:
    """Return peak delay, amplitude and bin of curves (..., nbins).

    The maximum over bins 1.. is refined by a parabola in log delay
    through it and its neighbours; a maximum in the first or last of
    those bins gets delay NaN and its own value.

    """
    x = numpy.log(delays[1:])
    c = curves[..., 1:]
    n = c.shape[-1]
    k = numpy.where(numpy.isnan(c), -numpy.inf, c).argmax(axis=-1)
    mid = numpy.clip(k, 1, n - 2)

    def at(index: NDArray) -> NDArray:
        return numpy.take_along_axis(c, index[..., None], axis=-1)[..., 0]

    y0, y1, y2 = at(mid - 1), at(mid), at(mid + 1)
    x0, x1, x2 = x[mid - 1], x[mid], x[mid + 1]
    with numpy.errstate(invalid='ignore', divide='ignore'):
        slope0 = (y1 - y0) / (x1 - x0)
        slope1 = (y2 - y1) / (x2 - x1)
        curvature = (slope1 - slope0) / (x2 - x0)
        # vertex of y1 + b (x - x1) + curvature (x - x1)**2
        b = slope0 + curvature * (x1 - x0)
        shift = numpy.where(curvature < 0, -b / (2 * curvature), 0.0)
    shift = numpy.clip(shift, x0 - x1, x2 - x1)
    vertex = y1 + b * shift + curvature * shift * shift
    interior = (k == mid) & numpy.isfinite(vertex)
    peak_delay = numpy.where(interior, numpy.exp(x1 + shift), numpy.nan)
    amplitude = numpy.where(interior, vertex, at(k))
    return peak_delay, amplitude, k + 1


def _noise(curves: NDArray, reach: int) -> NDArray:
    """Return a robust noise level per bin from curves `reach` apart."""
    ny, nx = curves.shape[:2]
    parts = []
    if nx > reach:
        parts.append((curves[:, reach:] - curves[:, :-reach]).ravel())
    if ny > reach:
        parts.append((curves[reach:] - curves[:-reach]).ravel())
    nbins = curves.shape[-1]
    if parts:
        diffs = numpy.concatenate([part.reshape(-1, nbins) for part in parts])
        scale = 1.0 / math.sqrt(2.0)
    else:  # too small a map: spread about the median instead
        flat = curves.reshape(-1, nbins)
        flat = flat[numpy.isfinite(flat).all(axis=1)]
        diffs = flat - (numpy.median(flat, axis=0) if len(flat) else 0.0)
        scale = 1.0
    diffs = diffs[numpy.isfinite(diffs).all(axis=1)]
    if not len(diffs):
        return numpy.full(nbins, numpy.nan)
    return 1.4826 * scale * numpy.median(numpy.abs(diffs), axis=0)


def _diffusion_grid(
    diffusion_range: Any, *, distance: NDArray, w2: float, delays: NDArray
) -> NDArray:
    """Return the grid of D (µm²/s), log-spaced by about 2 %."""
    if diffusion_range is None:
        reach2 = max(float(distance.max()) ** 2, w2)
        near2 = min(float(distance.min()) ** 2, w2)
        # peaks from half the first delay to twice the last
        low = near2 / (4.0 * 2.0 * delays[-1])
        high = reach2 / (4.0 * 0.5 * delays[1])
    else:
        low, high = _pair(diffusion_range, 'diffusion_range')
        if not 0.0 < low < high:
            msg = f'{diffusion_range=} must be two numbers 0 < low < high'
            raise ValueError(msg)
    count = max(3, math.ceil(math.log(high / low) / _GRID_STEP) + 1)
    return numpy.geomspace(low, high, count)


def _process(
    forward: NDArray, backward: NDArray, info: dict[str, Any]
) -> NDArray:
    """Return model curves as estimated, binned and smoothed in a result.

    `forward` and `backward` (..., N // 2 + 1) hold the model at delays
    ``0 .. N // 2`` frames toward the point and back from it. The
    estimators use the measured means, which makes the circular curve sum
    to zero over all ``N`` delays: the expected estimate is the model less
    its mean over them. The linear estimator also weights delay ``k`` by
    ``1 - k / N``.

    """
    edges = info['edges']
    frames = _frames(info)
    half = forward.shape[-1] - 1
    lags = numpy.arange(half + 1, dtype=numpy.float64)
    if info['mode'] == 'linear':
        weight = 1.0 - lags / frames
        total = (forward * weight).sum(axis=-1)
        total += (backward[..., 1:] * weight[1:]).sum(axis=-1)
        curves = forward - total[..., None] / frames
        curves *= weight
    else:
        total = forward[..., : frames - half].sum(axis=-1)
        total += backward[..., 1:].sum(axis=-1)
        curves = forward - total[..., None] / frames
    return smooth(average_bins(curves[..., : edges[-1]], edges))


def _frames(info: dict[str, Any]) -> int:
    """Return the frames the result was computed from."""
    frames = info['frames']
    if not frames or int(frames) < 2 * int(info['edges'][-1]):
        frames = 2 * int(info['edges'][-1])
    return int(frames)


def _templates(
    grid: NDArray, distance: NDArray, w2: float, info: dict[str, Any]
) -> NDArray:
    """Return processed free-diffusion models (grid, point, bin)."""
    frames = _frames(info)
    tau = numpy.arange(frames // 2 + 1, dtype=numpy.float64) * info['dt']
    classes, inverse = numpy.unique(
        numpy.round(distance, 9), return_inverse=True
    )
    d2 = (classes * classes)[:, None]
    out = numpy.empty((len(grid), len(classes), len(info['edges'])))
    step = max(1, _MODEL_VALUES // (len(classes) * len(tau)))
    for start in range(0, len(grid), step):
        diffusion = grid[start : start + step, None, None]
        spread = w2 + 4.0 * diffusion * tau
        curves = (w2 / spread) * numpy.exp(-d2 / spread)
        out[start : start + step] = _process(curves, curves, info)
    return out[:, inverse.ravel()]


def _fit(
    curves: NDArray, templates: NDArray, grid: NDArray
) -> dict[str, NDArray]:
    """Return D, its error, the residual and the amplitude per curve set.

    `curves` is (P, npoints * nbins) with NaN rows for pixels to skip.

    """
    count = len(curves)
    models = templates.reshape(len(grid), -1)
    result = {
        key: numpy.full(count, numpy.nan)
        for key in ('D', 'D_error', 'D_residual', 'amplitude')
    }
    good = numpy.isfinite(curves).all(axis=1)
    if not good.any():
        return result
    data = curves[good]
    size = models.shape[1]
    cross = data @ models.T  # (P, grid)
    norm = (models * models).sum(axis=1)
    total = (data * data).sum(axis=1)
    # best amplitude >= 0 in closed form, and the residual sum of squares
    cross = numpy.maximum(cross, 0.0)
    residual = total[:, None] - cross * cross / norm
    best = residual.argmin(axis=1)
    inner = (best > 0) & (best < len(grid) - 1)
    mid = numpy.clip(best, 1, len(grid) - 2)
    rows = numpy.arange(len(data))
    r0 = residual[rows, mid - 1]
    r1 = residual[rows, mid]
    r2 = residual[rows, mid + 1]
    h = math.log(grid[1] / grid[0])
    bend = r0 - 2.0 * r1 + r2
    with numpy.errstate(invalid='ignore', divide='ignore'):
        shift = numpy.where(bend > 0, 0.5 * (r0 - r2) / bend, 0.0)
        shift = numpy.clip(shift, -1.0, 1.0)
        minimum = numpy.maximum(r1 - 0.25 * (r0 - r2) * shift, 0.0)
        dof = max(1, size - 2)
        # residual(x) ~ minimum + bend / (2 h²) (x - x0)²
        sigma = numpy.sqrt(2.0 * h * h * (minimum / dof) / bend)
        rel = numpy.sqrt(minimum / total)
    log_d = numpy.log(grid[mid]) + shift * h
    # amplitude at the refined D, interpolated between grid points
    amp = numpy.maximum(cross[rows, mid], 0.0) / norm[mid]
    side = numpy.where(shift >= 0, mid + 1, mid - 1)
    amp_side = numpy.maximum(cross[rows, side], 0.0) / norm[side]
    amp = amp + numpy.abs(shift) * (amp_side - amp)
    ok = inner & (bend > 0) & (cross[rows, mid] > 0)
    value = numpy.where(ok, numpy.exp(log_d), numpy.nan)
    result['D'][good] = value
    result['D_error'][good] = numpy.where(ok, value * sigma, numpy.nan)
    result['D_residual'][good] = numpy.where(ok, rel, numpy.nan)
    result['amplitude'][good] = numpy.where(ok, amp, numpy.nan)
    return result


def _pool(
    curves: NDArray,
    finite: NDArray,
    templates: NDArray,
    grid: NDArray,
    radius: int,
) -> dict[str, Any]:
    """Return D fitted to the mean curves and its error over blocks."""
    ny, nx = finite.shape
    pixels = int(finite.sum())
    out: dict[str, Any] = {
        'D': math.nan,
        'D_error': math.nan,
        'pixels': pixels,
        'blocks': 0,
    }
    if not pixels:
        return out
    flat = curves.reshape(ny * nx, -1)
    out['D'] = float(
        _fit(flat[finite.ravel()].mean(axis=0)[None], templates, grid)['D'][0]
    )
    size = 2 * radius + 1
    means = []
    for y0 in range(0, ny, size):
        for x0 in range(0, nx, size):
            block = finite[y0 : y0 + size, x0 : x0 + size]
            # blocks cut by the map's edge count if half full
            if block.sum() * 2 >= size * size:
                part = curves[y0 : y0 + size, x0 : x0 + size][block]
                means.append(part.reshape(len(part), -1).mean(axis=0))
    if len(means) >= 2:
        values = _fit(numpy.array(means), templates, grid)['D']
        values = values[numpy.isfinite(values)]
        if len(values) >= 2:
            out['D_error'] = float(values.std(ddof=1) / math.sqrt(len(values)))
            out['blocks'] = len(values)
    return out


def _moments(
    amplitude: NDArray, angle: NDArray
) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """Return flow angle and strength, anisotropy and axis angle."""
    weight = numpy.nan_to_num(numpy.maximum(amplitude, 0.0), nan=0.0)
    total = weight.sum(axis=-1)
    first = weight @ numpy.exp(1j * angle)
    second = weight @ numpy.exp(2j * angle)
    with numpy.errstate(invalid='ignore', divide='ignore'):
        valid = total > 0
        first = numpy.where(valid, first / total, numpy.nan)
        second = numpy.where(valid, second / total, numpy.nan)
    nan = numpy.isnan(amplitude).all(axis=-1) | ~valid
    flow_angle = numpy.where(nan, numpy.nan, numpy.angle(first))
    strength = numpy.where(nan, numpy.nan, numpy.abs(first))
    anisotropy = numpy.where(nan, numpy.nan, numpy.abs(second))
    axis = 0.5 * numpy.angle(second)
    axis = numpy.where(axis <= -math.pi / 2, axis + math.pi, axis)
    axis = numpy.where(nan, numpy.nan, axis)
    return flow_angle, strength, anisotropy, axis


def _speed(
    peak_delay: NDArray,
    amplitude: NDArray,
    flow_angle: NDArray,
    angle: NDArray,
    distance: NDArray,
    w2: float,
    info: dict[str, Any],
) -> NDArray:
    """Return the flow speed from the peak delays of points near the flow.

    Each point's peak delay is turned into the speed of a pure flow along
    the point's direction whose binned and smoothed pCF peaks there; its
    projection on the flow direction is averaged with the amplitudes.

    """
    along = numpy.empty_like(peak_delay)
    for value in numpy.unique(distance):
        sel = distance == value
        speeds, delays = _flow_table(value, w2, info)
        if len(speeds) < 2:
            along[..., sel] = numpy.nan
            continue
        with numpy.errstate(invalid='ignore', divide='ignore'):
            logs = numpy.log(peak_delay[..., sel])
        inside = (logs >= delays[0]) & (logs <= delays[-1])
        found = numpy.interp(logs, delays, speeds)
        along[..., sel] = numpy.where(inside, numpy.exp(found), numpy.nan)
    cosine = numpy.cos(angle - numpy.nan_to_num(flow_angle)[..., None])
    use = (
        (cosine >= _SPEED_COS)
        & numpy.isfinite(along)
        & (numpy.nan_to_num(amplitude) > 0)
    )
    weight = numpy.where(use, amplitude, 0.0)
    speed = numpy.where(use, along * cosine, 0.0)
    total = weight.sum(axis=-1)
    with numpy.errstate(invalid='ignore', divide='ignore'):
        mean = (weight * speed).sum(axis=-1) / total
    valid = (total > 0) & numpy.isfinite(flow_angle)
    return numpy.where(valid, mean, numpy.nan)


def _flow_table(
    distance: float, w2: float, info: dict[str, Any]
) -> tuple[NDArray, NDArray]:
    """Return log speeds and the log peak delays of their processed pCF.

    Pure flow toward a point at `distance` µm; only speeds whose peak
    lies between bins, in increasing order of peak delay.

    """
    delays = info['delays']
    frames = _frames(info)
    tau = numpy.arange(frames // 2 + 1, dtype=numpy.float64) * info['dt']
    # speeds whose unprocessed peak d / v spans the delays, 4 % apart
    low = math.log(distance / (2.0 * delays[-1]))
    high = math.log(distance / (0.5 * delays[1]))
    speeds = numpy.exp(numpy.arange(low, high, 0.04))
    forward = numpy.exp(-((distance - speeds[:, None] * tau) ** 2) / w2)
    backward = numpy.exp(-((distance + speeds[:, None] * tau) ** 2) / w2)
    curves = _process(forward, backward, info)
    peak, _, _ = _peaks(curves, delays)
    # keep the run where the peak delay falls as the speed grows
    logs = numpy.log(speeds)[::-1]
    peaks = numpy.log(peak)[::-1]
    keep = numpy.isfinite(peaks)
    logs, peaks = logs[keep], peaks[keep]
    before = numpy.maximum.accumulate(peaks)[:-1]
    increasing = numpy.concatenate(([True], peaks[1:] > before))
    return logs[increasing], peaks[increasing]


def _file_kind(path: Path) -> str:
    """Return 'nc', 'h5' or 'zarr' for a maps file, or raise."""
    suffix = path.suffix.lower()
    kinds = {'.nc': 'nc', '.h5': 'h5', '.hdf5': 'h5', '.zarr': 'zarr'}
    if suffix not in kinds:
        msg = (
            f'{str(path)!r} has suffix {suffix!r}; expected .nc, .h5 or .zarr'
        )
        raise ValueError(msg)
    return kinds[suffix]


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def _encodable(maps: xarray.Dataset) -> xarray.Dataset:
    """Return a copy whose attributes netCDF-3 and zarr can store."""
    out = maps.copy()
    out.attrs = {'json': json.dumps(jsonable(maps.attrs))}
    for name in out.variables:
        attrs = out[name].attrs
        out[name].attrs = {
            k: v for k, v in attrs.items() if isinstance(v, str)
        }
    return out


def _decoded(dataset: xarray.Dataset) -> xarray.Dataset:
    """Undo :func:`_encodable`."""
    text = dataset.attrs.pop('json', None)
    if text is not None:
        dataset.attrs = json.loads(text)
    return dataset


def _write_h5(maps: xarray.Dataset, path: Path) -> None:
    import h5py

    with h5py.File(path, 'w') as file:
        file.attrs['attrs'] = json.dumps(jsonable(maps.attrs))
        for group, names in (
            ('coords', list(maps.coords)),
            ('data_vars', list(maps.data_vars)),
        ):
            grp = file.create_group(group)
            for name in names:
                var = maps[name].variable
                values = numpy.asarray(var.values)
                dataset = grp.create_dataset(name, data=values)
                dataset.attrs['dims'] = json.dumps(list(var.dims))
                dataset.attrs['attrs'] = json.dumps(jsonable(var.attrs))


def _read_h5(path: Path) -> xarray.Dataset:
    import h5py
    import xarray

    parts: dict[str, dict[str, Any]] = {}
    with h5py.File(path, 'r') as file:
        attrs = json.loads(file.attrs['attrs'])
        for group in ('coords', 'data_vars'):
            parts[group] = {}
            for name, dataset in file[group].items():
                parts[group][name] = xarray.Variable(
                    tuple(json.loads(dataset.attrs['dims'])),
                    dataset[()],
                    attrs=json.loads(dataset.attrs['attrs']),
                )
    return xarray.Dataset(
        parts['data_vars'], coords=parts['coords'], attrs=attrs
    )
