"""Free diffusion seen by two Gaussian spots: model and fit of D and w.

The line pCF (:func:`ipcf.line.fit_line`) and the detector-array pCF
(:func:`ipcf.detectors.fit_detectors`) fit the same model: molecules
diffusing in 2-D, seen through two Gaussian spots of 1/e² radius ``w`` a
distance ``d`` apart. The two spots and the displacement, all Gaussian,
convolve to a variance ``w² / 2 + 2 D tau`` per axis, so::

    G(tau) = A w² / (w² + 4 D tau) exp(-d² / (w² + 4 D tau))

which peaks at ``tau = (d² - w²) / (4 D)`` for ``d > w``. Before it is
compared with data the model goes through what the data went through:
the estimator's mean subtraction, the log bins and the smoothing
(:func:`ipcf.analysis._model.process`).

"""

from __future__ import annotations

from typing import Any

import numpy
from numpy.typing import NDArray

__all__ = ['fit_free', 'free_curves']


def free_curves(
    distances: NDArray,
    *,
    diffusion: float,
    w: float,
    edges: tuple[int, ...],
    frames: int,
    mode: str,
    dt: float,
    amplitude: float = 1.0,
) -> NDArray[numpy.float64]:
    """Return the binned and smoothed model of each distance (µm).

    >>> m = free_curves(numpy.array([0.0, 0.4]), diffusion=4.0, w=0.25,
    ...                 edges=(1, 2, 4, 8), frames=16, mode='circular',
    ...                 dt=1e-3)
    >>> m.shape, bool(m[0, 0] > m[1, 0])
    ((2, 4), True)

    """
    from .analysis._model import process

    tau = numpy.arange(frames // 2 + 1, dtype=numpy.float64) * dt
    spread = w * w + 4.0 * diffusion * tau
    d2 = numpy.asarray(distances, numpy.float64)[:, None] ** 2
    curves = amplitude * (w * w / spread) * numpy.exp(-d2 / spread)
    info = {'edges': numpy.asarray(edges), 'frames': frames, 'mode': mode}
    return process(curves, curves, info)


def fit_free(
    data: NDArray,
    distances: NDArray,
    *,
    edges: tuple[int, ...],
    frames: int,
    mode: str,
    dt: float,
    w: float | None = None,
    weights: NDArray | None = None,
) -> dict[str, Any]:
    """Fit D (and w) with the amplitude to curves of known distances.

    Parameters
    ----------
    data : ndarray, shape (ncurves, nbins)
        Binned and smoothed curves (NaN-free).
    distances : ndarray, shape (ncurves,)
        Distance of each curve's two spots in µm.
    edges, frames, mode, dt :
        Bins, frames, mode and delay unit of the curves.
    w : float, optional
        Known 1/e² radius in µm; None fits it.
    weights : ndarray, shape (ncurves,), optional
        Weight of each curve's squared residuals (the pairs it averages).

    Returns
    -------
    dict
        ``diffusion``, ``w``, ``amplitude``, ``cost`` (weighted sum of
        squared residuals) and ``model`` (ncurves, nbins).

    Notes
    -----
    The amplitude enters linearly and is solved for at every trial; D
    and w are searched on a grid of their logarithms, which the best
    point then refines (:func:`scipy.optimize.least_squares`).

    """
    from scipy.optimize import least_squares

    data = numpy.asarray(data, numpy.float64)
    distances = numpy.asarray(distances, numpy.float64)
    if not numpy.isfinite(data).all():
        msg = 'the curves to fit hold NaN; choose positions with values'
        raise ValueError(msg)
    weight = (
        numpy.ones(len(data))
        if weights is None
        else numpy.asarray(weights, numpy.float64)
    )
    root = numpy.sqrt(weight)[:, None]
    options = {'edges': edges, 'frames': frames, 'mode': mode, 'dt': dt}

    def solve(log_d: float, log_w: float) -> tuple[NDArray, float, NDArray]:
        model = free_curves(
            distances,
            diffusion=float(numpy.exp(log_d)),
            w=float(numpy.exp(log_w)),
            **options,
        )
        m = model * root
        norm = float((m * m).sum())
        amplitude = float((m * data * root).sum()) / norm if norm else 0.0
        return (data - amplitude * model) * root, amplitude, model

    # the delays the bins span set the range of diffusion times to try
    spacing = distances[distances > 0]
    scale = float(spacing.min()) if spacing.size else 0.1
    tmin = dt
    tmax = dt * frames / 2
    width0 = scale if w is None else w
    grid_d = numpy.log(width0**2 / (4 * numpy.geomspace(tmin, tmax, 17)))
    grid_w = (
        numpy.log(scale * numpy.geomspace(0.25, 4.0, 7))
        if w is None
        else numpy.array([numpy.log(w)])
    )
    best = min(
        (
            (float((solve(a, b)[0] ** 2).sum()), a, b)
            for a in grid_d
            for b in grid_w
        ),
    )
    start = numpy.array(best[1:] if w is None else best[1:2])

    def residuals(params: NDArray) -> NDArray:
        log_w = params[1] if w is None else numpy.log(w)
        return solve(params[0], log_w)[0].ravel()

    fitted = least_squares(residuals, start, x_scale=1.0, method='lm')
    log_d = float(fitted.x[0])
    log_w = float(fitted.x[1]) if w is None else float(numpy.log(w))
    resid, amplitude, model = solve(log_d, log_w)
    return {
        'diffusion': float(numpy.exp(log_d)),
        'w': float(numpy.exp(log_w)),
        'amplitude': amplitude,
        'cost': float((resid**2).sum()),
        'model': amplitude * model,
    }
