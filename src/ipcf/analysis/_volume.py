"""Maps of the 3-D pCF of a volume: the steps of :func:`ipcf.maps` in 3-D.

:func:`maps_volume` is what :func:`ipcf.maps` runs on a result of dims
``('z', 'y', 'x', 'point', 'delay')``: the same peaks, noise,
connectivity and pooled fit as for images, with the 3-D free-diffusion
model (:func:`._diffusion.templates_volume`) and the moments over the
points' unit vectors (:func:`._moments.moments_volume`). Offsets are
taken in µm from the points' voxel offsets and the voxel sizes.

"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

import numpy

from .._validate import check_int, check_mask, check_positive
from ._diffusion import diffusion_grid, fit, pool, templates_volume
from ._model import axial_units
from ._moments import flow_speed_volume, moments_volume
from ._peaks import connectivity, find_peaks, noise_level, peak_rise

if TYPE_CHECKING:
    import xarray
    from numpy.typing import NDArray

__all__ = ['maps_volume']

_CONVENTION = (
    'azimuths in radians from +x (columns) toward +y (rows, down in an '
    'image display), as atan2(v, u); polar angles in radians from +z '
    '(planes of increasing index)'
)

_COORDS = (
    'z',
    'y',
    'x',
    'point',
    'u',
    'v',
    'w',
    'angle',
    'polar',
    'distance',
)


def maps_volume(
    result: xarray.DataArray,
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
) -> xarray.Dataset:
    """Return the maps of a volume result (see :func:`ipcf.maps`).

    `info` is what :func:`._result.check_result` returned for `result`;
    the other arguments are those of :func:`ipcf.maps`, not yet checked.

    """
    import xarray

    from ._maps import _box_average, _check_range, _pooled_note, _units

    pixel_size, w, units_source = _units(result, pixel_size, w)
    pixel_size_z, w_z = _axial(
        result, info, pixel_size, pixel_size_z, w_z, units_source
    )
    threshold = check_positive(threshold, 'threshold')
    window = check_int(window, 'window', minimum=1)
    if window % 2 == 0:
        msg = f'{window=} must be odd'
        raise ValueError(msg)
    keep = _check_mask(mask, result)
    diffusion_range = _check_range(diffusion_range)

    curves = numpy.array(result.values, dtype=numpy.float64)
    grid_shape = curves.shape[:3]
    if keep is not None:
        curves[~keep] = numpy.nan
    if window > 1:
        curves = _box_average(curves, window)
    finite = numpy.isfinite(curves).all(axis=(3, 4))
    curves[~finite] = numpy.nan

    delays = info['delays']
    dx = info['u'] * pixel_size
    dy = info['v'] * pixel_size
    dz = info['w'] * pixel_size_z
    lateral2 = dx * dx + dy * dy
    axial2 = dz * dz
    distance = numpy.sqrt(lateral2 + axial2)  # µm
    unit = numpy.stack([dx, dy, dz], axis=1) / distance[:, None]
    w2 = w * w + pixel_size * pixel_size / 3.0
    wz2 = w_z * w_z
    # PSF radius along each point's direction, for the flow speed
    along2 = 1.0 / (
        lateral2 / (distance**2 * w2) + axial2 / (distance**2 * wz2)
    )

    peak_delay, peak_amplitude, peak_bin = find_peaks(curves, delays)
    rise = peak_rise(curves, peak_delay, peak_amplitude, finite)
    lateral = float(numpy.hypot(info['u'], info['v']).max())
    depth = int(numpy.abs(info['w']).max())
    reach = (
        2 * depth + window,
        2 * math.ceil(lateral) + window,
        2 * math.ceil(lateral) + window,
    )
    noise = noise_level(curves - curves[..., 1:2], reach, per_point=True)
    connected = connectivity(rise, noise, peak_bin, threshold)

    grid = diffusion_grid(
        diffusion_range, distance=distance, w2=w2, delays=delays
    )
    models = templates_volume(grid, lateral2, axial2, w2, wz2, info)
    fitted = fit(curves.reshape(math.prod(grid_shape), -1), models, grid)
    fitted = {key: value.reshape(grid_shape) for key, value in fitted.items()}
    pooled = pool(
        curves,
        finite,
        models,
        grid,
        (depth, info['radius'], info['radius']),
        delays,
        select=True,
    )

    moment = moments_volume(rise, unit)
    flow = moment['flow']
    strength = numpy.linalg.norm(flow, axis=-1)
    axis = moment['axis']
    speed = flow_speed_volume(
        peak_delay, rise, flow, unit, distance, along2, info
    )
    with numpy.errstate(invalid='ignore', divide='ignore'):
        flow_polar = numpy.arccos(numpy.clip(flow[..., 2] / strength, -1, 1))
        flow_polar = numpy.where(strength > 0, flow_polar, numpy.nan)
    flow_angle = numpy.arctan2(flow[..., 1], flow[..., 0])
    flow_angle = numpy.where(numpy.isfinite(strength), flow_angle, numpy.nan)
    axis_angle = numpy.arctan2(axis[..., 1], axis[..., 0])
    # the axis has x >= 0, so its azimuth lies in [-pi/2, pi/2]
    axis_angle = numpy.where(
        axis_angle <= -math.pi / 2, axis_angle + math.pi, axis_angle
    )
    axis_polar = numpy.arccos(numpy.clip(axis[..., 2], -1.0, 1.0))

    zyx = ('z', 'y', 'x')
    zyxp = ('z', 'y', 'x', 'point')
    variables = {
        'peak_delay': (zyxp, peak_delay, 's', 'delay of the peak'),
        'peak_amplitude': (zyxp, peak_amplitude, '1', 'pCF at the peak'),
        'peak_rise': (zyxp, rise, '1', 'peak above the first delay'),
        'connected': (zyxp, connected, '1', 'a significant peak exists'),
        'D': (zyx, fitted['D'], 'um^2/s', 'diffusion coefficient'),
        'D_error': (zyx, fitted['D_error'], 'um^2/s', 'formal error of D'),
        'D_residual': (zyx, fitted['D_residual'], '1', 'relative residual'),
        'fit_amplitude': (zyx, fitted['amplitude'], '1', 'A of the fit'),
        'flow_x': (zyx, flow[..., 0], '1', 'first moment, x'),
        'flow_y': (zyx, flow[..., 1], '1', 'first moment, y'),
        'flow_z': (zyx, flow[..., 2], '1', 'first moment, z'),
        'flow_strength': (zyx, strength, '1', 'first moment 0..1'),
        'flow_angle': (zyx, flow_angle, 'rad', 'azimuth of transport'),
        'flow_polar': (zyx, flow_polar, 'rad', 'polar angle of transport'),
        'flow_speed': (zyx, speed, 'um/s', 'speed if flow dominates'),
        'anisotropy': (zyx, moment['anisotropy'], '1', 'order S -0.5..1'),
        'axis_angle': (zyx, axis_angle, 'rad', 'azimuth of the axis'),
        'axis_polar': (zyx, axis_polar, 'rad', 'polar angle of the axis'),
        'noise': (('delay',), noise, '1', 'noise of G less G(dt)'),
    }
    data_vars = {
        name: xarray.Variable(
            dims, value, attrs={'units': units, 'long_name': text}
        )
        for name, (dims, value, units, text) in variables.items()
    }
    coords = {
        name: result.coords[name] for name in _COORDS if name in result.coords
    }
    coords['delay'] = result.coords['delay'].variable
    coords['bin_edge'] = result.coords['bin_edge'].variable
    attrs = {
        'pixel_size': pixel_size,
        'pixel_size_z': pixel_size_z,
        'w': w,
        'w_z': w_z,
        'z_ratio': info['z_ratio'],
        'dt': info['dt'],
        'radius': info['radius'],
        'window': window,
        'threshold': threshold,
        'diffusion_range': [float(grid[0]), float(grid[-1])],
        'D_pooled': pooled['D'],
        'D_pooled_error': pooled['D_error'],
        'D_pooled_pixels': pooled['pixels'],
        'D_pooled_blocks': pooled['blocks'],
        'D_pooled_residual': pooled['residual'],
        'D_pooled_peak': pooled['D_peak'],
        'D_pooled_free': pooled['free'],
        'D_pooled_note': _pooled_note(pooled, 'voxels'),
        'angles': _CONVENTION,
        'units_source': units_source,
    }
    if attrs['z_ratio'] is None:
        del attrs['z_ratio']
    source = result.attrs.get('source')
    if source is not None:
        attrs['source'] = str(source)
    return xarray.Dataset(data_vars, coords=coords, attrs=attrs)


def _axial(
    result: Any,
    info: dict[str, Any],
    pixel_size: float,
    pixel_size_z: Any,
    w_z: Any,
    where: dict[str, str],
) -> tuple[float, float]:
    """Return z voxel size and axial PSF radius, given or recorded.

    Given values come first, then the result's attributes, then the
    metadata of its series; `pixel_size_z` last from ``z_ratio``. Adds
    where each came from to `where`.

    """
    from .._sources import source_of

    given = {'pixel_size_z': pixel_size_z, 'w_z': w_z}
    keys = {'pixel_size_z': ('pixel_size_z',), 'w_z': ('psf_z', 'w_z')}
    found = {name: value for name, value in given.items() if value is not None}
    where.update({name: 'given' for name in found})
    missing = [name for name in given if name not in found]
    if missing:
        source = source_of(result)
        records = [(result.attrs, 'result attributes')]
        if source is not None:
            records.append((_metadata(source), f'metadata of {source}'))
        for name in missing:
            for record, label in records:
                value = next(
                    (record[k] for k in keys[name] if _number(record.get(k))),
                    None,
                )
                if value is not None:
                    found[name], where[name] = float(value), label
                    break
    if 'pixel_size_z' not in found and info.get('z_ratio') is not None:
        where['pixel_size_z'] = 'z_ratio of the result times pixel_size'
    try:
        pixel_size_z, w_z = axial_units(
            info, pixel_size, found.get('pixel_size_z'), found.get('w_z')
        )
    except ValueError as exc:
        if 'w_z' in str(exc):
            msg = (
                'w_z= not given and not recorded with the result or its '
                'series (psf_z); pass it (in µm)'
            )
            raise ValueError(msg) from exc
        raise
    ratio = info.get('z_ratio')
    if ratio is not None and not math.isclose(
        pixel_size_z, ratio * pixel_size, rel_tol=1e-3
    ):
        msg = (
            f'{pixel_size_z=} µm is not the z_ratio={ratio} of the result '
            f'times {pixel_size=} µm: the sphere was not round; the maps '
            'use pixel_size_z'
        )
        warnings.warn(msg, stacklevel=3)
    return pixel_size_z, w_z


def _metadata(source: Any) -> dict[str, Any]:
    from ..io import read_metadata

    try:
        return dict(read_metadata(source) or {})
    except (OSError, ValueError, TypeError):
        return {}


def _number(value: Any) -> bool:
    import numbers

    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_mask(mask: Any, result: Any) -> NDArray[numpy.bool_] | None:
    """Return the mask on the result's voxel grid, or None."""
    if mask is None:
        return None
    mask = numpy.asarray(mask)
    mask = check_mask(mask, mask.shape)  # the one dtype policy of masks
    axes = [numpy.asarray(result[name].values) for name in ('z', 'y', 'x')]
    grid = tuple(len(values) for values in axes)
    if mask.shape == grid:
        return mask.astype(bool)
    if mask.ndim == 3 and all(
        values.min() >= 0 and size > values.max()
        for values, size in zip(axes, mask.shape, strict=True)
    ):
        return mask[numpy.ix_(*axes)].astype(bool)
    ranges = ', '.join(
        f'{name} {values.min()}..{values.max()}'
        for name, values in zip('zyx', axes, strict=True)
    )
    msg = (
        f'mask.shape={mask.shape} is neither the result grid {grid} nor '
        f'a volume mask covering {ranges}'
    )
    raise ValueError(msg)
