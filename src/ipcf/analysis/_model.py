"""Model pCF curves estimated, binned and smoothed like a result.

The maps compare data with models only after the models went through
everything the data went through: the estimator's mean subtraction (and
the linear estimator's weights), the result's log bins and its
smoothing. :func:`process` does that to curves given at every integer
delay; :func:`pcf_model` applies it to the pCF of free diffusion plus a
flow, per circle (or sphere) point of a result.

"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy

from .._validate import check_positive, check_real
from ..pcf import average_bins, smooth
from ._result import check_pair, check_result

if TYPE_CHECKING:
    import xarray
    from numpy.typing import NDArray

__all__ = [
    'axial_units',
    'frames',
    'free_volume',
    'lags',
    'pcf_model',
    'process',
]


def pcf_model(
    result: xarray.DataArray,
    /,
    *,
    diffusion: float,
    pixel_size: float,
    w: float,
    velocity: Sequence[float] = (0.0, 0.0),
    amplitude: float = 1.0,
    pixel_size_z: float | None = None,
    w_z: float | None = None,
) -> xarray.DataArray:
    """Return model pCF curves binned and smoothed like a result.

    Parameters
    ----------
    result : xarray.DataArray
        pCF result whose circle (or sphere) points, bins, ``dt`` and mode
        the model follows; its values are not used. Of an image or of a
        volume (:func:`ipcf.pcf_image` of ``(T, Z, Y, X)`` data).
    diffusion : float
        Diffusion coefficient in µm²/s, >= 0.
    pixel_size : float
        Pixel side in µm, > 0.
    w : float
        1/e² radius of the point spread function in µm, > 0.
    velocity : (float, float) or (float, float, float), optional
        Flow velocity ``(vx, vy)`` in µm/s, default (0, 0); for a volume
        also ``(vx, vy, vz)`` (two items: ``vz = 0``).
    amplitude : float, optional, default: 1.0
        Value of the unprocessed model at zero distance and delay.
    pixel_size_z : float, optional
        Volumes only: z voxel size in µm, > 0. None (default) is the
        result's ``z_ratio`` times `pixel_size`.
    w_z : float, optional
        Volumes only, and needed there: axial 1/e² radius of the point
        spread function in µm, > 0.

    Returns
    -------
    xarray.DataArray, dims ('point', 'delay')
        The model curve of every circle point, with the result's
        ``point`` and ``delay`` coordinates.

    Raises
    ------
    TypeError
        If `result` is not a labelled pCF result, or an option is not a
        number (a string or a bool is not).
    ValueError
        If an option is out of range.

    Notes
    -----
    ``G(tau) = amplitude (1 + 4 D tau / w'²)**-1 exp(-|d - v tau|² /
    (w'² + 4 D tau))`` with ``d = (u, v) * pixel_size`` the offset of the
    point and ``w'² = w² + pixel_size² / 3`` (see :func:`ipcf.maps`), for
    every integer delay ``tau = k dt``, then :func:`ipcf.pcf.average_bins`
    and :func:`ipcf.pcf.smooth`. Linear-mode results get the factor
    ``1 - k / N`` of their estimator. The estimators subtract the
    measured means, so the expected circular curve is the model less its
    mean over all ``N`` delays (both directions); that is subtracted too.

    Of a volume, with ``(dx, dy) = (u, v) * pixel_size``, ``dz = w *
    pixel_size_z`` the offset of the point, ``s = w'² + 4 D tau`` and
    ``s_z = w_z² + 4 D tau``::

        G(tau) = amplitude (w'² / s) (w_z² / s_z)**0.5
                 * exp(-((dx - vx tau)² + (dy - vy tau)²) / s)
                 * exp(-(dz - vz tau)² / s_z)

    the correlation of two voxels for a PSF ``exp(-2 (x² + y²) / w² - 2
    z² / w_z²)``: the two PSFs and the displacement, all Gaussian,
    convolve to variances ``w² / 2 + 2 D tau`` laterally and ``w_z² / 2
    + 2 D tau`` axially per axis. The planes sample the PSF (optical
    sections), so unlike ``w`` the axial radius is not broadened by the
    voxel (:mod:`ipcf.simulate` renders volumes that way).

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

    Of a volume with z voxels twice the pixel size:

    >>> volume = numpy.random.default_rng(0).poisson(100, (256, 5, 8, 8))
    >>> result = ipcf.pcf_image(volume, radius=2, npoints=8, z_ratio=2.0)
    >>> model = pcf_model(result, diffusion=4.0, pixel_size=0.1, w=0.25,
    ...                   w_z=0.5)
    >>> model.dims, model.attrs['pixel_size_z']
    (('point', 'delay'), 0.2)

    """
    import xarray

    info = check_result(result)
    diffusion = check_real(diffusion, 'diffusion', minimum=0.0)
    pixel_size = check_positive(pixel_size, 'pixel_size')
    w = check_positive(w, 'w')
    amplitude = check_real(amplitude, 'amplitude')
    if info['volume']:
        return _volume_model(
            result,
            info,
            diffusion=diffusion,
            pixel_size=pixel_size,
            w=w,
            velocity=velocity,
            amplitude=amplitude,
            pixel_size_z=pixel_size_z,
            w_z=w_z,
        )
    for name, value in (('pixel_size_z', pixel_size_z), ('w_z', w_z)):
        if value is not None:
            msg = f'{name}={value!r} applies to results of volumes only'
            raise ValueError(msg)
    vx, vy = check_pair(velocity, 'velocity')
    w2 = w * w + pixel_size * pixel_size / 3.0
    tau = lags(info)
    spread = w2 + 4.0 * diffusion * tau
    sides = []
    for sign in (1.0, -1.0):  # toward the point, and back from it
        dx = sign * info['u'][:, None] * pixel_size - vx * tau
        dy = sign * info['v'][:, None] * pixel_size - vy * tau
        sides.append(
            amplitude
            * (w2 / spread)
            * numpy.exp(-(dx * dx + dy * dy) / spread)
        )
    processed = process(sides[0], sides[1], info)
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
            'velocity': [vx, vy],
            'pixel_size': pixel_size,
            'w': w,
        },
    )


def _volume_model(
    result: xarray.DataArray,
    info: dict[str, Any],
    *,
    diffusion: float,
    pixel_size: float,
    w: float,
    velocity: Any,
    amplitude: float,
    pixel_size_z: Any,
    w_z: Any,
) -> xarray.DataArray:
    """Return :func:`pcf_model` of a volume result (checked in part)."""
    import xarray

    pixel_size_z, w_z = axial_units(info, pixel_size, pixel_size_z, w_z)
    vx, vy, vz = _velocity(velocity)
    w2 = w * w + pixel_size * pixel_size / 3.0
    tau = lags(info)
    sides = []
    for sign in (1.0, -1.0):  # toward the point, and back from it
        offset = [
            sign * info[name][:, None] * size - speed * tau
            for name, size, speed in (
                ('u', pixel_size, vx),
                ('v', pixel_size, vy),
                ('w', pixel_size_z, vz),
            )
        ]
        sides.append(
            amplitude
            * free_volume(
                offset[0] ** 2 + offset[1] ** 2,
                offset[2] ** 2,
                diffusion * tau,
                w2,
                w_z * w_z,
            )
        )
    processed = process(sides[0], sides[1], info)
    names = ('point', 'u', 'v', 'w', 'angle', 'polar', 'distance', 'delay')
    return xarray.DataArray(
        processed,
        dims=('point', 'delay'),
        coords={
            name: result.coords[name]
            for name in names
            if name in result.coords
        },
        name='model',
        attrs={
            'diffusion': diffusion,
            'velocity': [vx, vy, vz],
            'pixel_size': pixel_size,
            'pixel_size_z': pixel_size_z,
            'w': w,
            'w_z': w_z,
        },
    )


def free_volume(
    lateral2: NDArray | float,
    axial2: NDArray | float,
    spread: NDArray | float,
    w2: float,
    wz2: float,
) -> NDArray:
    """Return the unit-amplitude 3-D pCF of free diffusion.

    ``(w2 / s) (wz2 / s_z)**0.5 exp(-lateral2 / s - axial2 / s_z)`` with
    ``s = w2 + 4 spread`` and ``s_z = wz2 + 4 spread``; `spread` is
    ``D tau`` (µm²), `lateral2` and `axial2` the squared lateral and
    axial offsets (µm²), `w2` and `wz2` the squared effective PSF radii.

    >>> float(free_volume(0.0, 0.0, 0.0, 0.07, 0.25))
    1.0

    """
    lateral = w2 + 4.0 * spread
    axial = wz2 + 4.0 * spread
    return (
        (w2 / lateral)
        * numpy.sqrt(wz2 / axial)
        * numpy.exp(-lateral2 / lateral - axial2 / axial)
    )


def axial_units(
    info: dict[str, Any], pixel_size: float, pixel_size_z: Any, w_z: Any
) -> tuple[float, float]:
    """Return a volume's z voxel size and axial PSF radius, checked.

    `pixel_size_z` None takes the result's ``z_ratio`` times
    `pixel_size`; `w_z` must be given.

    """
    if pixel_size_z is None:
        if info.get('z_ratio') is None:
            msg = (
                'pixel_size_z= not given and the result records no '
                'z_ratio; pass it (in µm)'
            )
            raise ValueError(msg)
        pixel_size_z = info['z_ratio'] * pixel_size
    pixel_size_z = check_positive(pixel_size_z, 'pixel_size_z')
    if w_z is None:
        msg = 'w_z= (the axial 1/e² radius of the PSF, µm) is needed'
        raise ValueError(msg)
    return pixel_size_z, check_positive(w_z, 'w_z')


def _velocity(value: Any) -> tuple[float, float, float]:
    """Return a velocity of 2 or 3 numbers as 3, or raise."""
    try:
        items = tuple(value)
    except TypeError:
        items = ()
    if len(items) == 2:
        return (*check_pair(items, 'velocity'), 0.0)
    if len(items) != 3 or isinstance(value, str):
        msg = f'velocity={value!r} is not 2 or 3 numbers'
        raise TypeError(msg)
    vx, vy = check_pair(items[:2], 'velocity')
    return vx, vy, check_real(items[2], 'velocity[2]')


def process(
    forward: NDArray, backward: NDArray, info: dict[str, Any]
) -> NDArray:
    """Return model curves as estimated, binned and smoothed in a result.

    Parameters
    ----------
    forward, backward : numpy.ndarray, shape (..., N // 2 + 1)
        The model at delays ``0 .. N // 2`` frames toward the point and
        back from it (the same array for a symmetric model).
    info : dict
        What :func:`._result.check_result` returns about the result.

    Returns
    -------
    numpy.ndarray, shape (..., nbins)

    Notes
    -----
    The estimators use the measured means, which makes the circular
    curve sum to zero over all ``N`` delays: the expected estimate is the
    model less its mean over them. The linear estimator also weights
    delay ``k`` by ``1 - k / N``.

    """
    edges = info['edges']
    count = frames(info)
    half = forward.shape[-1] - 1
    k = numpy.arange(half + 1, dtype=numpy.float64)
    if info['mode'] == 'linear':
        weight = 1.0 - k / count
        total = (forward * weight).sum(axis=-1)
        total += (backward[..., 1:] * weight[1:]).sum(axis=-1)
        curves = forward - total[..., None] / count
        curves *= weight
    else:
        total = forward[..., : count - half].sum(axis=-1)
        total += backward[..., 1:].sum(axis=-1)
        curves = forward - total[..., None] / count
    return smooth(average_bins(curves[..., : edges[-1]], edges))


def frames(info: dict[str, Any]) -> int:
    """Return the frames the result was computed from.

    Results that do not record it (or record fewer than their bins
    reach) are taken to span twice the last bin edge.

    """
    count = info['frames']
    if not count or int(count) < 2 * int(info['edges'][-1]):
        count = 2 * int(info['edges'][-1])
    return int(count)


def lags(info: dict[str, Any]) -> NDArray[numpy.float64]:
    """Return the delays ``0 .. N // 2`` frames in seconds."""
    count = frames(info) // 2 + 1
    return numpy.arange(count, dtype=numpy.float64) * info['dt']
