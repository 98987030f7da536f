"""Damped-trend exponential smoothing, ETS(A,Ad,N), in pure Python (no numpy, no statsmodels).

The model (Gardner & McKenzie 1985; in state-space form Hyndman, Koehler, Ord & Snyder,
*Forecasting with Exponential Smoothing*, Springer 2008, ch. 2 and 5; Hyndman & Athanasopoulos,
*Forecasting: Principles and Practice*, 3rd ed., section 8.7), in error-correction form::

    y_t = l_{t-1} + phi * b_{t-1} + e_t          e_t ~ N(0, sigma^2)
    l_t = l_{t-1} + phi * b_{t-1} + alpha * e_t
    b_t = phi * b_{t-1} + beta * e_t             beta = alpha * beta*  (Holt's beta*)

**Fit.** Maximum likelihood: with additive Gaussian errors the concentrated log-likelihood is
``-n/2 * log(SSE / n)`` (up to a constant), so the fit minimizes the sum of squared one-step
errors (SSE) over alpha, beta* and phi, bounded as statsmodels' ``ETSModel`` bounds them
(alpha and beta* in [1e-4, 1 - 1e-4], phi in [0.8, 0.98]; beta* < 1 is Hyndman et al.'s
``0 < beta < alpha``). The seed states ``x_0 = (l_0, b_0)`` are not searched: the model is
linear, ``x_t = D x_{t-1} + g y_t`` with ``D = F - g w'`` (``w = (1, phi)``,
``F = [[1, phi], [0, phi]]``, ``g = (alpha, beta)``), so every one-step error is affine in the
seed, ``e_t = e0_t - z_t . x_0`` with ``e0`` the errors from a zero seed and
``z_t = w' D^{t-1}``, and the best seed for given parameters is a 2 x 2 least-squares solve.
The search is a coarse grid followed by a box-bounded Nelder-Mead (1965) simplex from the best
grid points.

**Intervals.** ETS(A,Ad,N) is a class-1 (linear, homoscedastic) model (Hyndman, Koehler,
Ord & Snyder, "Prediction intervals for exponential smoothing using two new classes of state
space models", *Journal of Forecasting* 24, 2005; Hyndman et al. 2008, ch. 6): the h-step
forecast ``l_n + phi_h * b_n`` (``phi_h = phi + phi^2 + ... + phi^h``) has variance
``sigma^2 * (1 + sum_{j=1}^{h-1} c_j^2)`` with ``c_j = w' F^{j-1} g = alpha + beta * phi_j``
(= ``alpha * (1 + beta* * phi_j)``), whose closed form is FPP3 Table 8.8's
(:func:`relative_variance`). ``sigma^2`` is the
maximum likelihood estimate ``SSE / n`` and the intervals use normal quantiles, as statsmodels
does; like statsmodels' they leave out the uncertainty of the fitted parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

ALPHA_BOUNDS = (1e-4, 1.0 - 1e-4)
BETA_STAR_BOUNDS = (1e-4, 1.0 - 1e-4)  # beta / alpha
PHI_BOUNDS = (0.8, 0.98)
_BOUNDS = (ALPHA_BOUNDS, BETA_STAR_BOUNDS, PHI_BOUNDS)
_GRID = ((0.05, 0.2, 0.5, 0.8, 0.99), (0.01, 0.1, 0.3, 0.6, 0.95), (0.8, 0.9, 0.98))
_STARTS = 3  # Nelder-Mead runs from the best grid points


@dataclass(frozen=True)
class DampedTrendFit:
    """A fitted ETS(A,Ad,N) model: parameters, seed and final states, ``sigma2 = sse / n``."""

    alpha: float
    beta: float  # error-correction form: alpha * beta*
    phi: float
    level0: float
    trend0: float
    level: float  # l_n, after the last observation
    trend: float  # b_n
    sse: float
    n: int

    @property
    def sigma2(self) -> float:
        return self.sse / self.n

    def forecast(self, horizon: int) -> list[tuple[float, float]]:
        """``(mean, variance)`` of the next ``horizon`` values."""
        out = []
        phi_h = 0.0  # phi + ... + phi^h
        spread = 0.0  # sum_{j=1}^{h-1} c_j^2
        for h in range(1, horizon + 1):
            if h > 1:
                spread += (self.alpha + self.beta * phi_h) ** 2  # c_{h-1}, phi_h is phi_{h-1} here
            phi_h += self.phi**h
            out.append((self.level + phi_h * self.trend, self.sigma2 * (1.0 + spread)))
        return out


def relative_variance(alpha: float, beta: float, phi: float, h: int) -> float:
    """FPP3 Table 8.8's closed form of ``v_h / sigma^2`` for ETS(A,Ad,N) (a cross-check of
    :meth:`DampedTrendFit.forecast`'s sum)."""
    return (
        1.0
        + alpha**2 * (h - 1)
        + beta * phi * h / (1.0 - phi) ** 2 * (2.0 * alpha * (1.0 - phi) + beta * phi)
        - beta
        * phi
        * (1.0 - phi**h)
        / ((1.0 - phi) ** 2 * (1.0 - phi**2))
        * (2.0 * alpha * (1.0 - phi**2) + beta * phi * (1.0 + 2.0 * phi - phi**h))
    )


def seeded_sse(y: Sequence[float], alpha: float, beta: float, phi: float) -> tuple[float, float, float]:
    """The least SSE over seed states for these parameters, and that seed ``(l_0, b_0)``."""
    pl = pb = 0.0  # the states from a zero seed
    s00, s01, s10, s11 = 1.0, 0.0, 0.0, 1.0  # D^t: how the states depend on the seed
    a11 = a12 = a22 = r1 = r2 = ee = 0.0
    for v in y:
        e = v - pl - phi * pb
        z1 = s00 + phi * s10
        z2 = s01 + phi * s11
        a11 += z1 * z1
        a12 += z1 * z2
        a22 += z2 * z2
        r1 += z1 * e
        r2 += z2 * e
        ee += e * e
        pl, pb = pl + phi * pb + alpha * e, phi * pb + beta * e
        s00, s10 = s00 + phi * s10 - alpha * z1, phi * s10 - beta * z1
        s01, s11 = s01 + phi * s11 - alpha * z2, phi * s11 - beta * z2
    det = a11 * a22 - a12 * a12
    if det <= 1e-12 * a11 * a22:  # the trend seed is not identified: a level seed only
        l0 = r1 / a11
        return max(ee - l0 * r1, 0.0), l0, 0.0
    l0 = (a22 * r1 - a12 * r2) / det
    b0 = (a11 * r2 - a12 * r1) / det
    return max(ee - l0 * r1 - b0 * r2, 0.0), l0, b0


def smooth(
    y: Sequence[float], alpha: float, beta: float, phi: float, l0: float, b0: float
) -> tuple[float, float, float]:
    """SSE and the final states of the model run from the seed ``(l0, b0)``."""
    level, trend, sse = l0, b0, 0.0
    for v in y:
        e = v - level - phi * trend
        sse += e * e
        level, trend = level + phi * trend + alpha * e, phi * trend + beta * e
    return sse, level, trend


def _params(u: Sequence[float]) -> tuple[float, float, float]:
    """alpha, beta (error-correction form), phi from a point of the bounded box."""
    alpha, beta_star, phi = (min(max(x, lo), hi) for x, (lo, hi) in zip(u, _BOUNDS, strict=True))
    return alpha, alpha * beta_star, phi


def nelder_mead(
    f: Callable[[list[float]], float],
    start: Sequence[float],
    bounds: Sequence[tuple[float, float]],
    *,
    step: float = 0.1,
    xtol: float = 1e-7,
    ftol: float = 1e-12,
    max_evals: int = 600,
) -> tuple[list[float], float]:
    """Minimize ``f`` over a box by Nelder & Mead's simplex (1965; the standard coefficients
    1, 2, 0.5, 0.5), every trial point clipped into ``bounds``. Returns the best point and value."""
    dim = len(start)

    def clip(x: Sequence[float]) -> list[float]:
        return [min(max(v, lo), hi) for v, (lo, hi) in zip(x, bounds, strict=True)]

    simplex = [clip(start)]
    for i in range(dim):
        lo, hi = bounds[i]
        x = list(simplex[0])
        delta = step * (hi - lo)
        x[i] = x[i] + delta if x[i] + delta <= hi else x[i] - delta
        simplex.append(clip(x))
    values = [f(x) for x in simplex]
    evals = len(values)
    while evals < max_evals:
        order = sorted(range(dim + 1), key=values.__getitem__)
        simplex = [simplex[i] for i in order]
        values = [values[i] for i in order]
        size = max(abs(a - b) for x in simplex[1:] for a, b in zip(x, simplex[0], strict=True))
        if values[-1] - values[0] <= ftol * (abs(values[0]) + 1e-300) and size <= xtol:
            break
        centroid = [sum(x[i] for x in simplex[:-1]) / dim for i in range(dim)]
        worst = simplex[-1]
        reflected = clip([c + (c - w) for c, w in zip(centroid, worst, strict=True)])
        fr = f(reflected)
        evals += 1
        if fr < values[0]:
            expanded = clip([c + 2.0 * (c - w) for c, w in zip(centroid, worst, strict=True)])
            fe = f(expanded)
            evals += 1
            simplex[-1], values[-1] = (expanded, fe) if fe < fr else (reflected, fr)
            continue
        if fr < values[-2]:
            simplex[-1], values[-1] = reflected, fr
            continue
        inside = fr >= values[-1]
        target = worst if inside else reflected
        contracted = clip([c + 0.5 * (t - c) for c, t in zip(centroid, target, strict=True)])
        fc = f(contracted)
        evals += 1
        if fc < min(fr, values[-1]):
            simplex[-1], values[-1] = contracted, fc
            continue
        best = simplex[0]
        simplex = [best] + [
            clip([b + 0.5 * (v - b) for b, v in zip(best, x, strict=True)]) for x in simplex[1:]
        ]
        values = [values[0]] + [f(x) for x in simplex[1:]]
        evals += dim
    i = min(range(dim + 1), key=values.__getitem__)
    return simplex[i], values[i]


def fit_damped_trend(values: Sequence[float]) -> DampedTrendFit:
    """Fit ETS(A,Ad,N) to ``values`` (oldest first) by maximum likelihood."""
    n = len(values)
    if n < 4:
        raise ValueError(f"a damped-trend fit needs at least 4 values, got {n}")
    if not all(math.isfinite(v) for v in values):
        raise ValueError("the series has a value that is not a finite number")
    # The model is equivariant under y -> (y - shift) / scale: fit the standardized series,
    # where the SSE keeps its precision, and map the seed and the SSE back.
    shift = values[0]
    scale = math.sqrt(sum((v - shift) ** 2 for v in values) / n) or 1.0
    y = [(v - shift) / scale for v in values]

    def sse(u: list[float]) -> float:
        return seeded_sse(y, *_params(u))[0]

    grid = sorted((sse([a, b, p]), [a, b, p]) for a in _GRID[0] for b in _GRID[1] for p in _GRID[2])
    best_u, best = grid[0][1], grid[0][0]
    for _, start in grid[:_STARTS]:
        u, value = nelder_mead(sse, start, _BOUNDS)
        if value < best:
            best_u, best = u, value
    alpha, beta, phi = _params(best_u)
    _, l0, b0 = seeded_sse(y, alpha, beta, phi)
    total, level, trend = smooth(y, alpha, beta, phi, l0, b0)  # recomputed, not by difference
    fit = DampedTrendFit(
        alpha,
        beta,
        phi,
        shift + scale * l0,
        scale * b0,
        shift + scale * level,
        scale * trend,
        scale * scale * total,
        n,
    )
    if not all(math.isfinite(v) for v in (fit.level, fit.trend, fit.sse)):
        raise ArithmeticError("the exponential smoothing fit did not converge")
    return fit
