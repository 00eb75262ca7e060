"""Imaging FCS model curves and their batched least-squares fits.

The autocorrelation of a square camera pixel of side ``a`` that sees
particles diffusing in 2-D through a Gaussian PSF of 1/e² radius ``w``
(intensity ``exp(-2 r² / w²)``):

    G(tau) = (1 / N) (f(q(tau)) / f(q(0)))**2 + G_inf,
    q(tau) = a / sqrt(w² + 4 D tau),
    f(q) = erf(q) + (exp(-q²) - 1) / (sqrt(pi) q),

with ``N = C A_eff`` particles in the effective area ``A_eff = a² /
f(a / w)**2``. Derivation, per axis: a particle at ``x`` gives the pixel
``h(x) = int_0^a g(x' - x) dx'`` with ``g`` the normalised Gaussian of
variance ``w² / 4``; the correlation of ``h`` at the start and end of a
step of variance ``2 D tau`` is the double integral over the pixel of a
Gaussian of variance ``s² = w² / 2 + 2 D tau``, ``int_{-a}^{a} (a -
|u|) phi_s(u) du = a f(a / (s sqrt 2))``, while the mean is ``a``; the
two axes multiply. For a small pixel ``f(q) -> q / sqrt(pi)`` and
``A_eff -> pi w²``, for a large one ``f -> 1`` and ``A_eff -> a²``. A
light sheet of axial 1/e² radius ``w_z`` multiplies the shape by
``(1 + 4 D tau / w_z²)**-1/2``.

:func:`fit` fits ``A s(tau; D) + G_inf`` (``A = 1 / N``; two
components: ``A1 s(D1) + A2 s(D2) + G_inf``) to every pixel at once:
a grid over ``log D`` with the linear parameters solved exactly picks
the start, then Levenberg-Marquardt steps in ``(A, log D, ..., G_inf)``
run on all pixels together, each with its own damping.

"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy
from scipy.special import erf

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ['effective_area', 'fit', 'pixel_factor', 'shape']

_SQRT_PI = math.sqrt(math.pi)
_GRID = 48
"""Trial diffusion coefficients of a one-component start."""
_GRID2 = 16
"""Trial coefficients per component of a two-component start."""
_ITERATIONS = 100
_CHUNK = 4096
"""Pixels whose trial fits are solved together."""


def pixel_factor(q: NDArray) -> NDArray:
    """Return ``f(q) = erf(q) + (exp(-q²) - 1) / (sqrt(pi) q)``, q > 0.

    >>> round(float(pixel_factor(numpy.array(1e-4)) * _SQRT_PI / 1e-4), 6)
    1.0

    """
    q = numpy.asarray(q, dtype=numpy.float64)
    return erf(q) + numpy.expm1(-q * q) / (_SQRT_PI * q)


def _pixel_factor_slope(q: NDArray) -> NDArray:
    """Return ``df/dq = (1 - exp(-q²)) / (sqrt(pi) q²)``."""
    return -numpy.expm1(-q * q) / (_SQRT_PI * q * q)


def effective_area(side: float, w: float) -> float:
    """Return ``A_eff = a² / f(a / w)**2`` in the units of side².

    >>> round(effective_area(1e-3, 0.25) / (math.pi * 0.25**2), 6)
    1.0

    """
    return side * side / float(pixel_factor(numpy.array(side / w))) ** 2


def shape(
    lag: NDArray,
    diffusion: NDArray,
    *,
    side: float,
    w: float,
    w_z: float | None = None,
) -> tuple[NDArray, NDArray]:
    """Return the shape ``s(tau; D)`` (1 at tau 0) and ``ds / d log D``.

    `lag` (seconds) and `diffusion` broadcast against each other.

    """
    lag = numpy.asarray(lag, dtype=numpy.float64)
    diffusion = numpy.asarray(diffusion, dtype=numpy.float64)
    spread = 4.0 * diffusion * lag
    variance = w * w + spread
    q = side / numpy.sqrt(variance)
    f0 = float(pixel_factor(numpy.array(side / w)))
    ratio = pixel_factor(q) / f0
    value = ratio * ratio
    slope = (
        2.0
        * ratio
        * _pixel_factor_slope(q)
        / f0
        * (-0.5 * q * spread / variance)
    )
    if w_z is not None:
        axial = 1.0 / numpy.sqrt(1.0 + spread / (w_z * w_z))
        daxial = -0.5 * axial**3 * spread / (w_z * w_z)
        slope = slope * axial + value * daxial
        value = value * axial
    return value, slope


def fit(
    lag: NDArray,
    data: NDArray,
    weights: NDArray,
    *,
    side: float,
    w: float,
    w_z: float | None,
    components: int,
) -> dict[str, NDArray]:
    """Fit every row of data (P, K) at lags (K,) in seconds.

    `weights` (P, K) are ``1 / sigma²`` (0 drops a point). Returns
    ``params`` (P, M) as ``(A1, log D1, [A2, log D2,] G_inf)``, their
    covariance (P, M, M) scaled by the reduced chi-square when
    `weights` were all 1, ``chi2`` (reduced, P) and ``model`` (P, K).

    """
    model = _model(lag, side=side, w=w, w_z=w_z, components=components)
    if components == 1:
        start = _start_one(lag, data, weights, side=side, w=w, w_z=w_z)
    else:
        start = _start_two(lag, data, weights, side=side, w=w, w_z=w_z)
    # log D stays within 1e4 of the times the lags cover, so that the
    # model stays finite however badly a pixel fits
    slow, fast = _trial_diffusion(lag, 2, side=side, w=w)[::-1]
    low = numpy.full(start.shape[1], -numpy.inf)
    high = numpy.full(start.shape[1], numpy.inf)
    low[1:-1:2] = math.log(slow) - math.log(1e4)
    high[1:-1:2] = math.log(fast) + math.log(1e4)
    params, chi, curve, jac = _levenberg_marquardt(
        model, start, data, weights, bounds=(low, high)
    )
    npar = params.shape[1]
    dof = (weights > 0).sum(axis=1) - npar
    with numpy.errstate(divide='ignore', invalid='ignore'):
        chi2 = numpy.where(dof > 0, chi / dof, numpy.nan)
    normal = numpy.einsum('pkm,pk,pkn->pmn', jac, weights, jac)
    covariance = _inverse(normal)
    if numpy.all(weights[weights > 0] == 1.0):
        covariance *= chi2[:, None, None]
    return {
        'params': params,
        'covariance': covariance,
        'chi2': chi2,
        'model': curve,
    }


def _model(
    lag: NDArray,
    *,
    side: float,
    w: float,
    w_z: float | None,
    components: int,
) -> Callable[[NDArray], tuple[NDArray, NDArray]]:
    """Return params (P, M) -> (values (P, K), jacobian (P, K, M))."""

    def function(params: NDArray) -> tuple[NDArray, NDArray]:
        npix = params.shape[0]
        jac = numpy.empty((npix, lag.size, params.shape[1]))
        values = numpy.zeros((npix, lag.size))
        for c in range(components):
            amp = params[:, 2 * c, None]
            diffusion = numpy.exp(params[:, 2 * c + 1, None])
            s, ds = shape(lag, diffusion, side=side, w=w, w_z=w_z)
            values += amp * s
            jac[:, :, 2 * c] = s
            jac[:, :, 2 * c + 1] = amp * ds
        values += params[:, -1, None]
        jac[:, :, -1] = 1.0
        return values, jac

    return function


def _trial_diffusion(
    lag: NDArray, count: int, *, side: float, w: float
) -> NDArray:
    """Return trial D whose decay times span the lags (and beyond)."""
    positive = lag[lag > 0]
    area = w * w + side * side / _SQRT_PI
    times = numpy.geomspace(positive.min() / 4.0, positive.max() * 4.0, count)
    return area / (4.0 * times)


def _start_one(lag, data, weights, *, side, w, w_z) -> NDArray:
    """Return the best (A, log D, G_inf) over trial D, A and G_inf exact."""
    trial = _trial_diffusion(lag, _GRID, side=side, w=w)
    s = shape(lag, trial[:, None], side=side, w=w, w_z=w_z)[0]  # (G, K)
    sw = weights @ s.T  # (P, G): sum w s
    sww = weights @ (s * s).T
    s1 = weights.sum(axis=1)[:, None]
    wy = weights * data
    swy = wy @ s.T
    s1y = wy.sum(axis=1)[:, None]
    det = sww * s1 - sw * sw
    with numpy.errstate(divide='ignore', invalid='ignore'):
        amp = (swy * s1 - sw * s1y) / det
        base = (sww * s1y - sw * swy) / det
    # chi2 = sum w y² - coefficients . right-hand side (up to a constant)
    gain = amp * swy + base * s1y
    gain[~numpy.isfinite(gain) | (amp <= 0)] = -numpy.inf
    best = numpy.argmax(gain, axis=1)
    rows = numpy.arange(data.shape[0])
    return numpy.stack(
        [
            numpy.nan_to_num(amp[rows, best], nan=0.0, posinf=0.0),
            numpy.log(trial[best]),
            numpy.nan_to_num(base[rows, best], nan=0.0, posinf=0.0),
        ],
        axis=1,
    )


def _start_two(lag, data, weights, *, side, w, w_z) -> NDArray:
    """Return the best two-component start over pairs of trial D."""
    trial = _trial_diffusion(lag, _GRID2, side=side, w=w)
    s = shape(lag, trial[:, None], side=side, w=w, w_z=w_z)[0]
    first, second = numpy.triu_indices(len(trial), k=1)
    basis = numpy.stack(
        [s[first], s[second], numpy.ones((len(first), lag.size))], axis=-1
    )  # (C, K, 3)
    npix = data.shape[0]
    start = numpy.zeros((npix, 5))
    for p0 in range(0, npix, _CHUNK // 8):
        part = slice(p0, min(npix, p0 + _CHUNK // 8))
        wt = weights[part]
        normal = numpy.einsum('ckm,pk,ckn->pcmn', basis, wt, basis)
        rhs = numpy.einsum('ckm,pk->pcm', basis, wt * data[part])
        coef = numpy.linalg.solve(_regular(normal), rhs[..., None])[..., 0]
        gain = (coef * rhs).sum(axis=-1)
        gain[
            ~numpy.isfinite(gain) | (coef[..., :2] <= 0).any(axis=-1)
        ] = -numpy.inf
        best = numpy.argmax(gain, axis=1)
        rows = numpy.arange(best.size)
        c = numpy.nan_to_num(coef[rows, best], nan=0.0, posinf=0.0)
        start[part] = numpy.stack(
            [
                c[:, 0],
                numpy.log(trial[first[best]]),
                c[:, 1],
                numpy.log(trial[second[best]]),
                c[:, 2],
            ],
            axis=1,
        )
    return start


def _regular(matrices: NDArray) -> NDArray:
    """Return matrices with singular or non-finite ones set to identity."""
    eye = numpy.eye(matrices.shape[-1])
    diag = numpy.diagonal(matrices, axis1=-2, axis2=-1)
    bad = ~(numpy.isfinite(matrices).all(axis=(-2, -1)) & (diag > 0).all(-1))
    if bad.any():
        matrices = matrices.copy()
        matrices[bad] = eye
    return matrices


def _inverse(matrices: NDArray) -> NDArray:
    """Return inverses, NaN where a matrix is singular."""
    good = numpy.isfinite(matrices).all(axis=(-2, -1))
    out = numpy.full_like(matrices, numpy.nan)
    if good.any():
        with numpy.errstate(all='ignore'):
            out[good] = numpy.linalg.pinv(matrices[good])
    diag = numpy.diagonal(out, axis1=-2, axis2=-1)
    out[~(diag > 0).all(axis=-1)] = numpy.nan
    return out


def _levenberg_marquardt(
    function: Callable[[NDArray], tuple[NDArray, NDArray]],
    params: NDArray,
    data: NDArray,
    weights: NDArray,
    *,
    bounds: tuple[NDArray, NDArray] | None = None,
    iterations: int = _ITERATIONS,
    tolerance: float = 1e-10,
) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """Minimise sum w (data - f)² per row; every row damped on its own.

    Steps that leave `bounds` (low, high per parameter) are cut back to
    them.

    """
    params = params.copy()
    npar = params.shape[1]
    eye = numpy.eye(npar)
    values, jac = function(params)
    residual = data - values
    chi = (weights * residual**2).sum(axis=1)
    damping = numpy.full(params.shape[0], 1e-3)
    active = numpy.isfinite(chi)
    for _ in range(iterations):
        if not active.any():
            break
        idx = numpy.flatnonzero(active)
        j = jac[idx]
        wj = j * weights[idx, :, None]
        normal = numpy.einsum('pkm,pkn->pmn', wj, j)
        gradient = numpy.einsum('pkm,pk->pm', wj, residual[idx])
        diag = numpy.diagonal(normal, axis1=1, axis2=2)
        scaled = normal + damping[idx, None, None] * (
            diag[:, :, None] * eye + 1e-12 * diag.max(1)[:, None, None] * eye
        )
        step = numpy.linalg.solve(_regular(scaled), gradient[..., None])
        trial = params[idx] + step[..., 0]
        if bounds is not None:
            numpy.clip(trial, bounds[0], bounds[1], out=trial)
        with numpy.errstate(all='ignore'):
            tvalues, tjac = function(trial)
        tresidual = data[idx] - tvalues
        tchi = (weights[idx] * tresidual**2).sum(axis=1)
        better = numpy.isfinite(tchi) & (tchi <= chi[idx])
        gain = chi[idx] - numpy.where(better, tchi, chi[idx])
        take = idx[better]
        params[take] = trial[better]
        values[take] = tvalues[better]
        jac[take] = tjac[better]
        residual[take] = tresidual[better]
        chi[take] = tchi[better]
        damping[idx] = numpy.where(
            better,
            numpy.maximum(damping[idx] / 10.0, 1e-12),
            damping[idx] * 10.0,
        )
        done = (better & (gain <= tolerance * (chi[idx] + 1e-300))) | (
            damping[idx] > 1e12
        )
        active[idx[done]] = False
    return params, chi, values, jac
