"""Model pCF curves estimated, binned and smoothed like a result.

The maps compare data with models only after the models went through
everything the data went through: the estimator's mean subtraction (and
the linear estimator's weights), the result's log bins and its
smoothing. :func:`process` does that to curves given at every integer
delay; :func:`pcf_model` applies it to the pCF of free diffusion plus a
flow, per circle point of a result.

"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy

from .._validate import check_positive, check_real
from ..pcf import average_bins, smooth
from ._result import check_pair, check_result

if TYPE_CHECKING:
    import xarray
    from numpy.typing import NDArray

__all__ = ['frames', 'lags', 'pcf_model', 'process']


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

    info = check_result(result)
    diffusion = check_real(diffusion, 'diffusion', minimum=0.0)
    pixel_size = check_positive(pixel_size, 'pixel_size')
    w = check_positive(w, 'w')
    amplitude = check_real(amplitude, 'amplitude')
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
