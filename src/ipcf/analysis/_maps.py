"""Maps of a pCF result: the front door that assembles the Dataset.

:func:`maps` checks its arguments, prepares the curves (mask, box
average) and hands them to the steps, each in its module: peaks and
connectivity (:mod:`._peaks`), the fit of D (:mod:`._diffusion`), flow
and anisotropy (:mod:`._moments`); then it labels what they return.

"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy

from .._validate import check_int, check_mask, check_positive
from ._diffusion import diffusion_grid, fit, pool, templates
from ._moments import flow_speed, flow_tables, moments
from ._peaks import connectivity, find_peaks, noise_level, peak_rise
from ._result import check_pair, check_result
from ._select import restrict, selection_dims

if TYPE_CHECKING:
    import xarray
    from numpy.typing import ArrayLike, NDArray

__all__ = ['maps']

_CONVENTION = (
    'angles in radians from +x (columns) toward +y (rows, down in an '
    'image display), as atan2(v, u)'
)

_COORDS = ('y', 'x', 'point', 'u', 'v', 'angle', 'distance')


def maps(
    result: xarray.DataArray | str | os.PathLike[str],
    /,
    *,
    pixel_size: float | None = None,
    w: float | None = None,
    mask: ArrayLike | None = None,
    window: int = 1,
    threshold: float = 2.0,
    diffusion_range: tuple[float, float] | None = None,
    pixel_size_z: float | None = None,
    w_z: float | None = None,
    rows: int | None = None,
    z: int | Sequence[int] | None = None,
    channel: int | Sequence[int] | None = None,
    neighbour_channel: int | Sequence[int] | None = None,
) -> xarray.Dataset:
    """Return maps of diffusion, flow, anisotropy and connectivity.

    Parameters
    ----------
    result : xarray.DataArray, str or path-like
        pCF result of :func:`ipcf.pcf_image` or :func:`ipcf.load_result`,
        dims ``('y', 'x', 'point', 'delay')``, with its coordinates
        ``angle``, ``distance``, ``delay`` (s) and ``bin_edge``; or the
        3-D pCF of a volume, dims ``('z', 'y', 'x', 'point', 'delay')``
        with ``w`` too (see Volumes below). Or the path of a result
        store (``.h5``, ``.zarr``) holding one (group ``pcf``): the
        result of an image is then read in blocks of `rows`, never
        whole (see Blocks below); that of a volume is loaded.
    pixel_size : float, optional
        Pixel side in µm, > 0. None (default) takes it from the result's
        attributes or from the metadata of the series it was computed
        from (:func:`ipcf.io.read_metadata`: ipcf's own record, OME or
        ImageJ tags); ``attrs['units_source']`` says which.
    w : float, optional
        1/e² radius of the point spread function in µm, > 0. None
        (default) takes it from the result or its series as for
        `pixel_size` (simulations record it).
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
    pixel_size_z : float, optional
        Volumes only: z voxel size (plane spacing) in µm, > 0. None
        (default) takes it from the result's attributes or its series'
        metadata (``pixel_size_z``), else the result's ``z_ratio`` times
        `pixel_size`.
    w_z : float, optional
        Volumes only: axial 1/e² radius of the PSF in µm, > 0. None
        (default) takes it from the result or its series (``psf_z``, as
        simulations record it).
    rows : int, optional
        Images only: compute in blocks of this many rows of the result
        (>= 1), with a halo of rows for `window`. None (default) takes
        an in-memory result at once and a stored one in blocks of about
        64 MB of curves. The maps are the same either way.
    z, channel, neighbour_channel : int or sequence of int, optional
        Of a result of several planes or channels (see Planes and
        channels below): the planes and channels to map, by their labels
        (the indices in the file). An int maps that one and drops its
        dim, a sequence keeps the dim. None (default) maps all.

    Returns
    -------
    xarray.Dataset
        On dims ``(y, x, point)``: ``peak_delay`` (s), ``peak_amplitude``,
        ``peak_rise`` and ``connected``. On dims ``(y, x)``: ``D``
        (µm²/s), ``D_error``, ``D_residual``, ``fit_amplitude``,
        ``flow_angle`` (rad), ``flow_strength``, ``flow_speed`` (µm/s),
        ``anisotropy`` and ``axis_angle`` (rad). On dim ``delay``:
        ``noise``. Coordinates as the result's. ``attrs`` hold the
        parameters, the pooled diffusion coefficient ``D_pooled`` with
        ``D_pooled_error``, ``D_pooled_pixels`` and ``D_pooled_blocks``
        (what it pooled), ``D_pooled_residual``, ``D_pooled_peak``,
        ``D_pooled_free`` and ``D_pooled_note`` (whether the
        free-diffusion model holds; see Notes), and the result's
        ``source`` if it has one (:func:`ipcf.analysis.save_maps`
        records them as provenance).

        Of a volume the same with ``z`` first: dims ``(z, y, x,
        point)`` and ``(z, y, x)``; the direction maps are 3-D (see
        Volumes): ``flow_x``, ``flow_y``, ``flow_z``, ``flow_strength``,
        ``flow_angle``, ``flow_polar``, ``flow_speed``, ``anisotropy``,
        ``axis_angle`` and ``axis_polar``; ``attrs`` add
        ``pixel_size_z``, ``w_z`` and ``z_ratio``.

        Of a result of several planes or channels, the same with the
        result's extra dims: ``z`` first, ``channel`` and
        ``neighbour_channel`` after ``x`` (``peak_delay`` on ``(z, y,
        x, channel, neighbour_channel, point)``), ``noise`` on the
        selection dims and ``delay``; the pooled fit becomes variables
        on the selection dims (``D_pooled``, ``D_pooled_error``, ...,
        ``D_pooled_free``), and ``attrs['D_pooled_selections']`` lists
        each selection's labels with its ``D_pooled``,
        ``D_pooled_error`` and ``D_pooled_note``.

    Raises
    ------
    TypeError
        If `result` is not a labelled pCF result or an option has the
        wrong type (a number given as a string or a bool).
    ValueError
        If an option is out of range, `mask` does not fit the result, or
        `pixel_size_z` or `w_z` is given for an image result (or cannot
        be found for a volume).

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
    (see :func:`ipcf.analysis.pcf_model`).
    ``D_pooled`` is the fit of the mean curves over all finite pixels of
    the mask, ``D_pooled_pixels`` of them, each weighted by its
    correlation amplitude (pixels without molecules add noise, not
    weight); ``D_pooled_residual`` is the fit's relative residual. Its
    ``D_pooled_error`` is the standard error over blocks of ``2 * radius
    + 1`` pixels on a side (nearly independent, unlike neighbouring
    pixels): the standard deviation of the blocks' fitted D over the
    root of their number (NaN with fewer than 2 blocks). It misses
    fluctuations that the whole field shares; over repeated simulations
    the pooled D scattered by 0.4 to 2 times this error.

    **Is it D?** The fit assumes free diffusion in an open plane. Walls
    or the edge of a compartment within about twice the radius, and
    compartments that hold few molecules (their number is conserved,
    which lowers every pair's correlation by ``1 / N``), change the
    shape of the curves: the fit then returns an apparent D, lower than
    the true one and dependent on the radius. ``D_pooled_peak`` is the D
    whose model curve, averaged over the points, peaks where the mean
    curve does; ``D_pooled_free`` is True where both are found and
    agree within 15 %, and ``D_pooled_note`` says so in a sentence. On
    free-diffusion simulations they agreed within 6 %; on the
    compartmented cell of :func:`ipcf.simulate.channel` (a 5.8 x 4.9 µm
    cell cut by a 0.8 µm channel, radius 6) the peak gave +31 % and the
    fit half the true D, in every region of the cell
    (docs/validation.md). The check catches a model that fails badly;
    milder confinement (a cell without a channel: -22 %, the peak +12 %)
    passes it.

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
    whose binned and smoothed pCF (:func:`ipcf.analysis.pcf_model`,
    ``D = 0``) peaks there (a plain ``d / tau`` is 10-15 % high as
    binning and smoothing move sharp peaks), and ``flow_speed`` is the
    mean of ``s_i cos(theta_i - flow_angle)`` weighted by ``A_i`` over
    the points within 45 degrees of the flow. Diffusion makes peaks
    earlier, so this overestimates the speed where ``s d`` is not well
    above ``4 D``.

    Angles follow the image: from +x (columns) toward +y (rows, down in
    a display), so ``pi / 2`` points down.

    **Blocks.** In blocks of rows the result is read as float32 and
    only a block's curves (and its halo) are held in float64 at once.
    The steps that see the whole map run over the blocks first: the
    noise level's median is found exactly by a histogram of the
    differences' bit patterns, refined until the values of the middle
    ranks are few enough to keep (usually two passes), and the pooled
    means add the pixels in the order of the whole map. Then each
    block's maps are made. They equal those of the whole map; with
    ``window > 1`` to the last bits of the box average. To write
    blocked maps to a file as they are made, use
    :func:`ipcf.analysis.write_maps`.

    **Volumes.** The 3-D pCF toward a sphere point ``(dx, dy, dz)`` µm
    away (``(u, v) * pixel_size``, ``w * pixel_size_z``) is fitted with
    the free-diffusion model of a 3-D Gaussian PSF of radii ``w`` and
    ``w_z``, ``A (1 + 4 D tau / w'²)**-1 (1 + 4 D tau / w_z²)**-1/2
    exp(-(dx² + dy²) / (w'² + 4 D tau)) exp(-dz² / (w_z² + 4 D tau))``
    (:func:`ipcf.analysis.pcf_model`; ``w'² = w² + pixel_size² / 3`` as
    for images, ``w_z`` not broadened: planes sample the PSF), binned and
    smoothed like the data, per voxel and pooled; the pooled error comes
    from blocks of the sphere's size (``2 hz + 1`` planes by ``2 r + 1``
    pixels, ``hz`` the largest ``|w|``). `mask` is ``(nz, ny, nx)`` of
    the result grid or a ``(Z, H, W)`` mask covering its coordinates;
    `window` averages over a cube of `window` voxels on a side. The
    noise is estimated from voxels ``2 ceil(r) + window`` pixels apart
    along x and y and ``2 hz + window`` planes apart along z. With
    ``e_i`` the unit vectors of the points in µm, the first moment
    ``sum A_i e_i / sum A_i`` is the flow vector (``flow_x``,
    ``flow_y``, ``flow_z``); its length is ``flow_strength``, its
    azimuth ``flow_angle`` (as for images) and ``flow_polar`` its angle
    from +z. The second moment is the order tensor ``sum A_i (3 e_i
    e_i^T - I) / (2 sum A_i)``: ``anisotropy`` is its largest
    eigenvalue (0 isotropic, 1 all along one axis; for 8 points or more
    spread on a sphere ``S`` of isotropic transport is near 0), the
    eigenvector the axis (``axis_angle``, azimuth in ``(-pi/2,
    pi/2]``; ``axis_polar`` from +z in ``[0, pi]``). ``flow_speed``
    uses the points within 45 degrees of the flow vector, each with the
    PSF radius along its direction, ``(sin² p / w'² + cos² p /
    w_z²)**-1/2`` for polar angle ``p``. With ``w_z > w`` free diffusion
    rises less toward points above and below than toward points beside
    a voxel, and the points within ``w_z`` of the z axis have no peak at
    all: its rises are those of transport in a plane, whose ``S`` is
    0.25. On free 3-D simulations (w_z = 2 w) the median ``S`` of a
    voxel was 0.33 and its ``flow_strength`` 0.22, while the flow vector
    averaged over the volume was below 0.03; the pooled model check
    ``D_pooled_peak`` uses only the points whose model has a peak.

    **Planes and channels.** The result of :func:`ipcf.analyze` of a
    file of several planes or channels holds a plain result per plane
    and ordered channel pair. Each is mapped on its own, with its own
    noise level and pooled fit: the maps of one selection equal
    ``maps(result.sel(z=k, channel=c, neighbour_channel=d), ...)``, and
    :func:`ipcf.analysis.select` returns them in that layout (pooled fit
    in the attributes). A `mask` of the image applies to every plane.
    Of a stored result, one selection's block of rows is read at a
    time.

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
    options = {
        'pixel_size': pixel_size,
        'w': w,
        'mask': mask,
        'window': window,
        'threshold': threshold,
        'diffusion_range': diffusion_range,
        'pixel_size_z': pixel_size_z,
        'w_z': w_z,
    }
    if rows is not None:
        rows = check_int(rows, 'rows', minimum=1)
    selection = {
        'z': z,
        'channel': channel,
        'neighbour_channel': neighbour_channel,
    }
    if isinstance(result, str | os.PathLike):
        from ._blocked import maps_of_store

        return maps_of_store(result, rows=rows, selection=selection, **options)
    if any(value is not None for value in selection.values()):
        result = _restricted(result, selection)
    dims = selection_dims(result) if _is_array(result) else ()
    if dims:
        from ._selections import memory_maps

        return memory_maps(result, dims, rows=rows, **options)
    info = check_result(result)
    if info['volume']:
        from ._volume import maps_volume

        if rows is not None:
            msg = f'{rows=} applies to results of images only'
            raise ValueError(msg)
        return maps_volume(result, info, **options)
    setup = prepare_maps(result, info, **options)
    if rows is not None:
        from ._blocked import MemorySink, blocked_maps

        sink = MemorySink(result, setup)
        blocked_maps(result.data, setup, rows=rows, sink=sink)
        return sink.dataset()
    curves, finite = prepare_curves(
        numpy.array(result.values, dtype=numpy.float64),
        setup.keep,
        setup.window,
    )
    noise = noise_level(curves - curves[..., 1:2], setup.reach)
    pooled = pool(
        curves, finite, setup.models, setup.grid, setup.radius, setup.delays
    )
    values = pixel_maps(curves, finite, noise, setup)
    values['noise'] = noise
    return map_dataset(result, setup, values, pooled)


@dataclasses.dataclass
class MapSetup:
    """What every block of an image's maps needs: checked options, models.

    Made once by :func:`prepare_maps`; :func:`pixel_maps` uses it.

    """

    info: dict[str, Any]
    pixel_size: float
    w: float
    units_source: dict[str, str]
    window: int
    threshold: float
    keep: NDArray[numpy.bool_] | None
    delays: NDArray
    distance: NDArray  # µm
    angle: NDArray
    w2: float
    reach: int
    grid: NDArray
    models: NDArray
    tables: dict[tuple[float, float], tuple[NDArray, NDArray]]

    @property
    def radius(self) -> int:
        return int(self.info['radius'])


def prepare_maps(
    result: Any,
    info: dict[str, Any],
    *,
    pixel_size: Any,
    w: Any,
    mask: Any,
    window: Any,
    threshold: Any,
    diffusion_range: Any,
    pixel_size_z: Any,
    w_z: Any,
) -> MapSetup:
    """Check the options of the maps of an image result; make the models.

    `result` gives the coordinates and attributes only (its values are
    not read); `info` is what :func:`._result.check_result` returned.

    """
    for name, value in (('pixel_size_z', pixel_size_z), ('w_z', w_z)):
        if value is not None:
            msg = f'{name}={value!r} applies to results of volumes only'
            raise ValueError(msg)
    pixel_size, w, units_source = _units(result, pixel_size, w)
    threshold = check_positive(threshold, 'threshold')
    window = check_int(window, 'window', minimum=1)
    if window % 2 == 0:
        msg = f'{window=} must be odd'
        raise ValueError(msg)
    keep = _check_mask(mask, result)
    diffusion_range = _check_range(diffusion_range)
    delays = info['delays']
    distance = info['distance'] * pixel_size  # µm
    w2 = w * w + pixel_size * pixel_size / 3.0
    grid = diffusion_grid(
        diffusion_range, distance=distance, w2=w2, delays=delays
    )
    return MapSetup(
        info=info,
        pixel_size=pixel_size,
        w=w,
        units_source=units_source,
        window=window,
        threshold=threshold,
        keep=keep,
        delays=delays,
        distance=distance,
        angle=info['angle'],
        w2=w2,
        reach=2 * math.ceil(float(info['distance'].max())) + window,
        grid=grid,
        models=templates(grid, distance, w2, info),
        tables=flow_tables(distance, numpy.full(len(distance), w2), info),
    )


def prepare_curves(
    curves: NDArray, keep: NDArray | None, window: int
) -> tuple[NDArray, NDArray[numpy.bool_]]:
    """Return curves masked, box-averaged and NaN where not all finite.

    `curves` (float64, modified) holds rows of the result grid and
    `keep` the same rows of the mask; with ``window > 1`` the rows
    within ``window // 2`` of the ends are valid only at the map's
    edges (a blocked caller adds that many rows of halo). Returns the
    curves and the pixels with data.

    """
    if keep is not None:
        curves[~keep] = numpy.nan
    if window > 1:
        curves = _box_average(curves, window)
    finite = numpy.isfinite(curves).all(axis=(2, 3))
    curves[~finite] = numpy.nan
    return curves, finite


def pixel_maps(
    curves: NDArray, finite: NDArray, noise: NDArray, setup: MapSetup
) -> dict[str, NDArray]:
    """Return the per-pixel maps of prepared curves (rows of the grid).

    Every pixel's maps depend on its own curves only, given the `noise`
    of the whole map, so the rows may be a block of the grid.

    """
    ny, nx = curves.shape[:2]
    delays = setup.delays
    peak_delay, peak_amplitude, peak_bin = find_peaks(curves, delays)
    rise = peak_rise(curves, peak_delay, peak_amplitude, finite)
    connected = connectivity(rise, noise, peak_bin, setup.threshold)
    fitted = fit(curves.reshape(ny * nx, -1), setup.models, setup.grid)
    fitted = {key: value.reshape(ny, nx) for key, value in fitted.items()}
    flow_angle, flow_strength, anisotropy, axis_angle = moments(
        rise, setup.angle
    )
    speed = flow_speed(
        peak_delay,
        rise,
        flow_angle,
        setup.angle,
        setup.distance,
        setup.w2,
        setup.info,
        tables=setup.tables,
    )
    return {
        'peak_delay': peak_delay,
        'peak_amplitude': peak_amplitude,
        'peak_rise': rise,
        'connected': connected,
        'D': fitted['D'],
        'D_error': fitted['D_error'],
        'D_residual': fitted['D_residual'],
        'fit_amplitude': fitted['amplitude'],
        'flow_angle': flow_angle,
        'flow_strength': flow_strength,
        'flow_speed': speed,
        'anisotropy': anisotropy,
        'axis_angle': axis_angle,
    }


_VARIABLES = {
    'peak_delay': (('y', 'x', 'point'), 's', 'delay of the peak'),
    'peak_amplitude': (('y', 'x', 'point'), '1', 'pCF at the peak'),
    'peak_rise': (('y', 'x', 'point'), '1', 'peak above the first delay'),
    'connected': (('y', 'x', 'point'), '1', 'a significant peak exists'),
    'D': (('y', 'x'), 'um^2/s', 'diffusion coefficient'),
    'D_error': (('y', 'x'), 'um^2/s', 'formal error of D'),
    'D_residual': (('y', 'x'), '1', 'relative residual'),
    'fit_amplitude': (('y', 'x'), '1', 'A of the fit'),
    'flow_angle': (('y', 'x'), 'rad', 'direction of transport'),
    'flow_strength': (('y', 'x'), '1', 'first moment 0..1'),
    'flow_speed': (('y', 'x'), 'um/s', 'speed if flow dominates'),
    'anisotropy': (('y', 'x'), '1', 'second moment S 0..1'),
    'axis_angle': (('y', 'x'), 'rad', 'axis of transport'),
    'noise': (('delay',), '1', 'noise of G less G(dt)'),
}
"""Variables of the maps of an image: dims, units and long name."""


def map_dataset(
    result: Any,
    setup: MapSetup,
    values: dict[str, Any],
    pooled: dict[str, Any] | None,
) -> xarray.Dataset:
    """Return the Dataset of the maps: values labelled as the result.

    `values` holds every variable of :data:`_VARIABLES`; `pooled` is
    what :func:`._diffusion.pool` returned, or None for placeholders
    (a schema made before the pooled fit).

    """
    import xarray

    data_vars = {
        name: xarray.Variable(
            dims, values[name], attrs={'units': units, 'long_name': text}
        )
        for name, (dims, units, text) in _VARIABLES.items()
    }
    coords = {name: result.coords[name] for name in _COORDS}
    coords['delay'] = result.coords['delay'].variable
    coords['bin_edge'] = result.coords['bin_edge'].variable
    if pooled is None:
        pooled = {key: math.nan for key in ('D', 'D_error', 'residual')}
        pooled.update(D_peak=math.nan, pixels=0, blocks=0, free=False)
    attrs = {
        'pixel_size': setup.pixel_size,
        'w': setup.w,
        'dt': setup.info['dt'],
        'radius': setup.info['radius'],
        'window': setup.window,
        'threshold': setup.threshold,
        'diffusion_range': [float(setup.grid[0]), float(setup.grid[-1])],
        'D_pooled': pooled['D'],
        'D_pooled_error': pooled['D_error'],
        'D_pooled_pixels': pooled['pixels'],
        'D_pooled_blocks': pooled['blocks'],
        'D_pooled_residual': pooled['residual'],
        'D_pooled_peak': pooled['D_peak'],
        'D_pooled_free': pooled['free'],
        'D_pooled_note': _pooled_note(pooled),
        'angles': _CONVENTION,
        'units_source': setup.units_source,
    }
    source = result.attrs.get('source')
    if source is not None:
        attrs['source'] = str(source)
    return xarray.Dataset(data_vars, coords=coords, attrs=attrs)


def map_schema(
    result: Any, setup: MapSetup, pooled: dict[str, Any] | None = None
) -> xarray.Dataset:
    """Return the maps' Dataset with placeholder values of no memory.

    Its variables have the shapes and dtypes of the maps (float64, bool
    for ``connected``) as read-only broadcasts of one value, for
    :meth:`ipcf.store.Schema.of` and for the blocked maps' buffers.

    """
    ny, nx = len(result['y']), len(result['x'])
    npoints = len(result['point'])
    sizes = {'y': ny, 'x': nx, 'point': npoints, 'delay': len(setup.delays)}
    values = {}
    for name, (dims, _, _) in _VARIABLES.items():
        dtype = numpy.bool_ if name == 'connected' else numpy.float64
        shape = tuple(sizes[dim] for dim in dims)
        values[name] = numpy.broadcast_to(numpy.zeros((), dtype), shape)
    return map_dataset(result, setup, values, pooled)


def _is_array(result: Any) -> bool:
    import xarray

    return isinstance(result, xarray.DataArray)


def _restricted(result: Any, selection: dict[str, Any]) -> Any:
    """Return the result at the planes and channels the caller chose."""
    check_result_kind(result)
    indexers = restrict(result, **selection)
    return result.isel(indexers) if indexers else result


def check_result_kind(result: Any) -> None:
    """Raise TypeError unless result is an xarray.DataArray."""
    if not _is_array(result):
        msg = (
            f'result is a {type(result).__name__}; expected the '
            'xarray.DataArray of ipcf.pcf_image or ipcf.load_result'
        )
        raise TypeError(msg)


def _units(
    result: Any, pixel_size: Any, w: Any
) -> tuple[float, float, dict[str, str]]:
    """Return pixel size and PSF radius, given or from the metadata."""
    from .._sources import physical_units, source_of

    given = {'pixel_size': pixel_size, 'w': w}
    missing = [name for name, value in given.items() if value is None]
    found: dict[str, Any] = {}
    where = {name: 'given' for name in given if name not in missing}
    if missing:
        source = source_of(result)
        known = physical_units(result.attrs)
        on_disk = physical_units(source) if source is not None else {}
        for name, key in (('pixel_size', 'pixel_size'), ('w', 'psf_radius')):
            if name not in missing:
                continue
            if known.get(key) is not None:
                found[name], where[name] = known[key], 'result attributes'
            elif on_disk.get(key) is not None:
                found[name] = on_disk[key]
                where[name] = f'metadata of {source}'
        absent = [name for name in missing if name not in found]
        if absent:
            names = ' and '.join(f'{n}=' for n in absent)
            msg = (
                f'{names} not given and not recorded with the result or '
                'its series; pass them (in µm)'
            )
            raise ValueError(msg)
    pixel_size = check_positive(
        found.get('pixel_size', pixel_size), 'pixel_size'
    )
    w = check_positive(found.get('w', w), 'w')
    return pixel_size, w, where


def _pooled_note(pooled: dict[str, Any], unit: str = 'pixels') -> str:
    """Return one sentence on what ``D_pooled`` is and whether it holds."""
    pixels = pooled['pixels']
    text = f'free-diffusion fit of the mean curves of {pixels} {unit}'
    fitted, peak = pooled['D'], pooled['D_peak']
    if not math.isfinite(fitted):
        return f'{text}: no D found'
    if not math.isfinite(peak):
        return f'{text}; no peak to check the model with'
    change = f'{round(100.0 * (peak / fitted - 1.0)):+d} %'
    if pooled['free']:
        return f'{text}; their peak delay agrees (D {peak:.3g}, {change})'
    return (
        f'{text}; their peak delay gives D {peak:.3g} ({change}): the '
        'curves are not those of free diffusion (walls or compartment '
        'edges within reach of the circle, flow, several populations), '
        'so D_pooled is an apparent D, not the diffusion coefficient'
    )


def _check_mask(mask: Any, result: Any) -> NDArray[numpy.bool_] | None:
    """Return the mask on the result grid, or None."""
    if mask is None:
        return None
    mask = numpy.asarray(mask)
    mask = check_mask(mask, mask.shape)  # the one dtype policy of masks
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


def _check_range(value: Any) -> tuple[float, float] | None:
    """Return the range of D searched, two numbers 0 < low < high."""
    if value is None:
        return None
    low, high = check_pair(value, 'diffusion_range')
    if not 0.0 < low < high:
        msg = f'diffusion_range={value!r} must be two numbers 0 < low < high'
        raise ValueError(msg)
    return low, high


def _box_average(curves: NDArray, window: int) -> NDArray:
    """Return curves averaged over window pixels a side, NaN-aware.

    A square of pixels for images, a cube of voxels for volumes.

    """
    from scipy.ndimage import uniform_filter

    finite = numpy.isfinite(curves[..., 0, 0])
    filled = numpy.where(finite[..., None, None], curves, 0.0)
    size = (window,) * finite.ndim + (1, 1)
    total = uniform_filter(filled, size=size, mode='constant')
    count = uniform_filter(finite.astype(numpy.float64), size=window)
    count = count[..., None, None]
    out = numpy.full_like(curves, numpy.nan)
    good = finite & (count[..., 0, 0] > 0)
    out[good] = total[good] / count[good]
    return out
