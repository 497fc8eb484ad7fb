"""Regression losses: real predictions and targets of shape (N,) or (N, D).

Each is element-wise: the per-sample loss is the mean over the D outputs of the element loss of the
error e = prediction − target, as Keras (mean over the last axis) and scikit-learn (uniform average
of the outputs) define it; the per-output breakdown is scikit-learn's ``multioutput="raw_values"``.
"""

from __future__ import annotations

import math
from typing import Annotated

import numpy as np
from pydantic import Field

from .base import TORCH_REDUCTION, Computed, Equivalent, InputMode, NoParams, Params, elementwise
from .checks import check_ndim, check_range, check_same_shape
from .numerics import FLOAT64_EPS, xlogy
from .registry import register

REAL = (InputMode("default", "real", ("real",), ("(N,)", "(N, D)")),)


def _errors(predictions: np.ndarray, targets: np.ndarray) -> np.ndarray:
    check_ndim(predictions, "predictions", (1, 2))
    check_same_shape(predictions, targets)
    return predictions - targets


@register(
    name="mean_squared_error",
    aliases=("mse", "l2"),
    params=NoParams,
    family="regression",
    summary="Squared error, averaged over outputs.",
    formula="l_i = mean_j (p_ij - y_ij)^2",
    modes=REAL,
    equivalents=(
        Equivalent("PyTorch", "torch.nn.functional.mse_loss(p, y)", TORCH_REDUCTION),
        Equivalent("Keras", "keras.losses.MeanSquaredError()", "reduction sum_over_batch_size"),
        Equivalent("scikit-learn", "sklearn.metrics.mean_squared_error(y, p, sample_weight=w)", "mean"),
    ),
)
def mean_squared_error(
    predictions: np.ndarray, targets: np.ndarray, params: NoParams, want_gradient: bool
) -> Computed:
    """l = e², ∂l/∂p = 2e."""
    e = _errors(predictions, targets)
    if not want_gradient:
        return elementwise(np.multiply(e, e, out=e), None)
    return elementwise(e * e, np.multiply(e, 2.0, out=e))


def _sqrt_transform(mean: float) -> tuple[float, float]:
    """RMSE = √MSE; d√m/dm = 1/(2√m), and 0 at m = 0 (the subgradient at the minimum)."""
    root = math.sqrt(mean) if mean >= 0 else math.nan
    return root, (0.5 / root if root > 0 else 0.0)


@register(
    name="root_mean_squared_error",
    aliases=("rmse",),
    params=NoParams,
    family="regression",
    summary="Square root of the weighted mean squared error.",
    formula="value = sqrt( sum_i w_i l_i / sum_i w_i ),  l_i = mean_j (p_ij - y_ij)^2",
    modes=REAL,
    reductions=("mean",),
    transform=_sqrt_transform,
    equivalents=(
        Equivalent(
            "scikit-learn",
            "sklearn.metrics.root_mean_squared_error(y, p, sample_weight=w)",
            "1-D inputs; for (N, D) the breakdown equals multioutput='raw_values'",
        ),
        Equivalent("Keras", "keras.metrics.RootMeanSquaredError()", "1-D inputs"),
    ),
    differences=(
        "For (N, D) inputs the value is the square root of the mean over all samples and outputs; "
        "scikit-learn's default multioutput='uniform_average' averages the per-output RMSEs "
        "instead. The per-output RMSEs are in the breakdown.",
        "per_sample and stats describe the per-sample squared errors l_i (the quantity averaged "
        "under the root), so stats.mean is value squared.",
    ),
)
def root_mean_squared_error(
    predictions: np.ndarray, targets: np.ndarray, params: NoParams, want_gradient: bool
) -> Computed:
    """Per-sample squared error; the engine takes the root of the weighted mean."""
    return mean_squared_error(predictions, targets, params, want_gradient)


@register(
    name="mean_absolute_error",
    aliases=("mae", "l1"),
    params=NoParams,
    family="regression",
    summary="Absolute error, averaged over outputs.",
    formula="l_i = mean_j |p_ij - y_ij|",
    modes=REAL,
    notes=("Gradient sign(e), with 0 at e = 0 as PyTorch's l1_loss.",),
    equivalents=(
        Equivalent("PyTorch", "torch.nn.functional.l1_loss(p, y)", TORCH_REDUCTION),
        Equivalent("Keras", "keras.losses.MeanAbsoluteError()", "reduction sum_over_batch_size"),
        Equivalent("scikit-learn", "sklearn.metrics.mean_absolute_error(y, p, sample_weight=w)", "mean"),
    ),
)
def mean_absolute_error(
    predictions: np.ndarray, targets: np.ndarray, params: NoParams, want_gradient: bool
) -> Computed:
    """l = |e|, ∂l/∂p = sign(e)."""
    e = _errors(predictions, targets)
    return elementwise(np.abs(e), np.sign(e) if want_gradient else None)


class HuberParams(Params):
    delta: float = Field(1.0, gt=0, description="Error size where the loss turns from quadratic to linear.")


@register(
    name="huber",
    params=HuberParams,
    family="regression",
    summary="Quadratic for small errors, linear for large ones.",
    formula="l = 0.5 e^2 if |e| <= delta else delta (|e| - 0.5 delta)",
    modes=REAL,
    examples=({"delta": 0.5}, {"delta": 3.0}),
    equivalents=(
        Equivalent("PyTorch", "torch.nn.functional.huber_loss(p, y, delta=delta)", "same delta"),
        Equivalent("Keras", "keras.losses.Huber(delta=delta)", "reduction sum_over_batch_size"),
        Equivalent("Optax", "optax.losses.huber_loss(p, y, delta=delta)", "per element"),
    ),
)
def huber(predictions: np.ndarray, targets: np.ndarray, params: HuberParams, want_gradient: bool) -> Computed:
    """∂l/∂p = e inside the quadratic zone, δ·sign(e) outside it."""
    e = _errors(predictions, targets)
    delta = params.delta
    abs_e = np.abs(e)
    quadratic = abs_e <= delta
    values = np.where(quadratic, 0.5 * e * e, delta * (abs_e - 0.5 * delta))
    gradient = np.where(quadratic, e, delta * np.sign(e)) if want_gradient else None
    return elementwise(values, gradient)


class SmoothL1Params(Params):
    beta: float = Field(
        1.0,
        ge=0,
        description="Error size where the loss turns from quadratic to linear; 0 gives the absolute error.",
    )


@register(
    name="smooth_l1",
    params=SmoothL1Params,
    family="regression",
    summary="Huber loss divided by beta: quadratic below beta, absolute error minus beta/2 above.",
    formula="l = 0.5 e^2 / beta if |e| < beta else |e| - 0.5 beta;  beta = 0: l = |e|",
    modes=REAL,
    examples=({"beta": 0.5}, {"beta": 2.5}, {"beta": 0.0}),
    notes=(
        "smooth_l1(beta) = huber(delta=beta) / beta element-wise for beta > 0: its linear part has "
        "slope 1 whatever beta, where Huber's has slope delta.",
        "beta = 0 is accepted, as PyTorch does, and is the absolute error (mean_absolute_error), with "
        "gradient sign(e) and 0 at e = 0.",
    ),
    equivalents=(
        Equivalent("PyTorch", "torch.nn.functional.smooth_l1_loss(p, y, beta=beta)", TORCH_REDUCTION),
    ),
)
def smooth_l1(
    predictions: np.ndarray, targets: np.ndarray, params: SmoothL1Params, want_gradient: bool
) -> Computed:
    """∂l/∂p = e/β inside the quadratic zone, sign(e) outside it (and everywhere for β = 0)."""
    e = _errors(predictions, targets)
    beta = params.beta
    abs_e = np.abs(e)
    if beta == 0.0:
        return elementwise(abs_e, np.sign(e) if want_gradient else None)
    quadratic = abs_e < beta
    values = np.where(quadratic, 0.5 * e * e / beta, abs_e - 0.5 * beta)
    gradient = np.where(quadratic, e / beta, np.sign(e)) if want_gradient else None
    return elementwise(values, gradient)


class PseudoHuberParams(Params):
    delta: float = Field(
        1.0, gt=0, description="Scale of the error: quadratic well below delta, slope delta well above."
    )


@register(
    name="pseudo_huber",
    params=PseudoHuberParams,
    family="regression",
    summary="Smooth Huber: about 0.5 e^2 for small errors and delta |e| for large ones.",
    formula="l = delta^2 (sqrt(1 + (e / delta)^2) - 1)",
    modes=REAL,
    examples=({"delta": 0.3}, {"delta": 4.0}),
    notes=(
        "Twice differentiable everywhere, unlike huber: l ≈ 0.5 e^2 for |e| ≪ delta and "
        "l ≈ delta |e| - delta^2 for |e| ≫ delta; gradient e / sqrt(1 + (e / delta)^2), bounded by delta.",
        "No anchor: neither PyTorch, Keras, scikit-learn nor Optax (0.2.8 checked) provides it; "
        "the tests check it against the formula in extended precision and against huber's asymptotes.",
    ),
    equivalents=(),
)
def pseudo_huber(
    predictions: np.ndarray, targets: np.ndarray, params: PseudoHuberParams, want_gradient: bool
) -> Computed:
    """l = δ²(√(1 + u²) − 1) with u = e/δ; ∂l/∂p = e / √(1 + u²)."""
    e = _errors(predictions, targets)
    delta = params.delta
    u = np.abs(e) / delta
    # hypot(1, u) = √(1 + u²) without overflowing u²; √(1 + u²) − 1 = u² / (√(1 + u²) + 1) avoids the
    # cancellation for small u, and δ²u²/(h + 1) = δ|e| · u/(h + 1) never forms u².
    root = np.hypot(1.0, u)
    values = delta * np.abs(e) * (u / (root + 1.0))
    return elementwise(values, e / root if want_gradient else None)


@register(
    name="log_cosh",
    params=NoParams,
    family="regression",
    summary="Logarithm of the hyperbolic cosine of the error: 0.5 e^2 near 0, |e| - log 2 far away.",
    formula="l = log(cosh(e)) = |e| + softplus(-2 |e|) - log 2",
    modes=REAL,
    notes=(
        "Computed without overflow for errors of any size (e = ±1000 gives 1000 - log 2) and without "
        "cancellation near 0 (log1p(2 sinh²(e/2)) for |e| < 1); gradient tanh(e).",
    ),
    equivalents=(
        Equivalent("Keras", "keras.losses.LogCosh()", "reduction sum_over_batch_size"),
        Equivalent("Optax", "optax.losses.log_cosh(p, y)", "per element"),
    ),
    differences=(
        "Keras (e + softplus(-2e) - log 2) and Optax (logaddexp(e, -e) - log 2) lose relative accuracy "
        "for |e| ≲ 1e-4 (absolute error about 1e-16); this service uses log1p(2 sinh²(e/2)) there, so "
        "values agree to 1e-16 absolute, not relative, for tiny errors.",
    ),
)
def log_cosh(predictions: np.ndarray, targets: np.ndarray, params: NoParams, want_gradient: bool) -> Computed:
    """l = log cosh(e), ∂l/∂p = tanh(e)."""
    e = _errors(predictions, targets)
    abs_e = np.abs(e)
    small = abs_e < 1.0
    # cosh(e) = 1 + 2 sinh²(e/2): exact near 0. Far from 0, log cosh(e) = |e| + log1p(e^(−2|e|)) − log 2,
    # which never forms cosh(e) (it overflows for |e| > 710).
    near = np.log1p(2.0 * np.sinh(0.5 * np.where(small, e, 0.0)) ** 2)
    far = abs_e + np.log1p(np.exp(-2.0 * abs_e)) - math.log(2.0)
    values = np.where(small, near, far)
    return elementwise(values, np.tanh(e) if want_gradient else None)


class PercentageErrorParams(Params):
    epsilon: float = Field(
        FLOAT64_EPS, gt=0, description="Floor of |target| in the denominator (float64 machine epsilon)."
    )


@register(
    name="mean_absolute_percentage_error",
    aliases=("mape",),
    params=PercentageErrorParams,
    family="regression",
    summary="Absolute error relative to the target, as a fraction (not a percentage).",
    formula="l_i = mean_j |p_ij - y_ij| / max(|y_ij|, epsilon)",
    modes=REAL,
    examples=({"epsilon": 0.5},),
    notes=(
        "A fraction: 0.25 means 25 %. Targets near 0 give huge values (|e| / epsilon), as in "
        "scikit-learn; gradient sign(e) / max(|y|, epsilon), 0 at e = 0.",
    ),
    equivalents=(
        Equivalent(
            "scikit-learn",
            "sklearn.metrics.mean_absolute_percentage_error(y, p, sample_weight=w)",
            "same epsilon; reduction mean; breakdown = multioutput='raw_values'",
        ),
        Equivalent(
            "Keras",
            "keras.losses.MeanAbsolutePercentageError()",
            "Keras value = 100 x ours with epsilon=1e-7; reduction sum_over_batch_size",
        ),
    ),
    differences=(
        "Keras returns a percentage (100 times this fraction) and floors |y| at its epsilon 1e-7 instead "
        "of float64 machine epsilon: set epsilon=1e-7 and multiply by 100 to reproduce it.",
    ),
)
def mean_absolute_percentage_error(
    predictions: np.ndarray, targets: np.ndarray, params: PercentageErrorParams, want_gradient: bool
) -> Computed:
    """l = |e| / max(|y|, ε), ∂l/∂p = sign(e) / max(|y|, ε)."""
    e = _errors(predictions, targets)
    scale = np.maximum(np.abs(targets), params.epsilon)
    return elementwise(np.abs(e) / scale, np.sign(e) / scale if want_gradient else None)


LOG1P_MODES = (
    InputMode("default", "greater_than_minus_one", ("greater_than_minus_one",), ("(N,)", "(N, D)")),
)


@register(
    name="mean_squared_log_error",
    aliases=("msle",),
    params=NoParams,
    family="regression",
    summary="Squared error of log(1 + x): relative errors of non-negative quantities.",
    formula="l_i = mean_j (log(1 + p_ij) - log(1 + y_ij))^2",
    modes=LOG1P_MODES,
    notes=(
        "Predictions and targets must be > -1 (log1p is defined there), as scikit-learn >= 1.6 "
        "requires (1.9.1 checked: it refuses values <= -1, and accepts values in (-1, 0), which "
        "versions before 1.6 refused). A value <= -1 is a 422 naming its index.",
        "Gradient 2 (log1p(p) - log1p(y)) / (1 + p).",
    ),
    equivalents=(
        Equivalent(
            "scikit-learn",
            "sklearn.metrics.mean_squared_log_error(y, p, sample_weight=w)",
            "reduction mean; breakdown = multioutput='raw_values'",
        ),
        Equivalent(
            "Keras",
            "keras.losses.MeanSquaredLogarithmicError()",
            "inputs >= 1e-7 only; reduction sum_over_batch_size",
        ),
    ),
    differences=(
        "Keras clips predictions and targets to at least its epsilon 1e-7 before log1p, so it differs "
        "for values below 1e-7 (including every value in (-1, 0)), and its gradient is 0 there.",
    ),
)
def mean_squared_log_error(
    predictions: np.ndarray, targets: np.ndarray, params: NoParams, want_gradient: bool
) -> Computed:
    """l = (log1p(p) − log1p(y))², ∂l/∂p = 2 (log1p(p) − log1p(y)) / (1 + p)."""
    check_ndim(predictions, "predictions", (1, 2))
    check_same_shape(predictions, targets)
    for name, array in (("predictions", predictions), ("targets", targets)):
        check_range(array, name, low=-1.0, low_open=True, what="log(1 + x) needs values > -1")
    d = np.log1p(predictions) - np.log1p(targets)
    return elementwise(d * d, 2.0 * d / (1.0 + predictions) if want_gradient else None)


class QuantileParams(Params):
    quantile: float = Field(
        0.5,
        gt=0,
        lt=1,
        description="The quantile predicted: under-predictions cost quantile, over-predictions 1 - quantile.",
    )


@register(
    name="quantile",
    aliases=("pinball",),
    params=QuantileParams,
    family="regression",
    summary="Pinball loss: minimised by the conditional quantile; quantile 0.5 is half the absolute error.",
    formula="l = q (y - p) if y >= p else (1 - q)(p - y)",
    modes=REAL,
    examples=({"quantile": 0.1}, {"quantile": 0.9}),
    notes=(
        "Gradient -q where p <= y and 1 - q where p > y: at p = y it is -q, what PyTorch autograd gives "
        "on scikit-learn's formula q·s·(y - p) - (1 - q)(1 - s)(y - p) with s = [y - p >= 0].",
    ),
    equivalents=(
        Equivalent(
            "scikit-learn",
            "sklearn.metrics.mean_pinball_loss(y, p, alpha=quantile, sample_weight=w)",
            "alpha = quantile; reduction mean; breakdown = multioutput='raw_values'",
        ),
    ),
    differences=(
        "scikit-learn accepts alpha = 0 and alpha = 1 (one-sided losses); here quantile must lie in "
        "(0, 1), so that the loss has a quantile as its minimiser.",
    ),
)
def quantile(
    predictions: np.ndarray, targets: np.ndarray, params: QuantileParams, want_gradient: bool
) -> Computed:
    """l = max(q(y − p), (q − 1)(y − p)), the branch chosen by y − p ≥ 0 as scikit-learn."""
    e = _errors(predictions, targets)
    q = params.quantile
    gradient = np.where(e <= 0, -q, 1.0 - q) if want_gradient else None  # y − p >= 0: −q
    # For q in (0, 1) the larger branch is the one scikit-learn selects, so this is its value exactly.
    values = np.maximum(e * -q, np.multiply(e, 1.0 - q, out=e))
    return elementwise(values, gradient)


class PoissonParams(Params):
    log_input: bool = Field(False, description="Predictions are log-rates log(mu) rather than rates mu.")
    full: bool = Field(False, description="Add the Stirling approximation of log(y!) for targets > 1.")
    epsilon: float = Field(
        1e-8,
        gt=0,
        description="Added to the rate inside the log (log_input=false only), so mu = 0 is finite.",
    )


POISSON_SHAPES = ("(N,)", "(N, D)")
POISSON_MODES = (
    InputMode("rates", "nonnegative", ("nonnegative",), POISSON_SHAPES, {"log_input": False}),
    InputMode("log_rates", "real", ("nonnegative",), POISSON_SHAPES, {"log_input": True}),
)
# The largest x whose exp(x) is a finite float64.
LOG_FLOAT64_MAX = float(np.log(np.finfo(np.float64).max))


@register(
    name="poisson",
    params=PoissonParams,
    family="regression",
    summary="Poisson negative log-likelihood of counts given rates (or log-rates).",
    formula=(
        "l = mu - y log(mu + epsilon);  log_input: l = exp(x) - y x;  "
        "full: + y log y - y + 0.5 log(2 pi y) where y > 1"
    ),
    modes=POISSON_MODES,
    nonnegative=False,
    examples=({"full": True}, {"log_input": True, "full": True}, {"epsilon": 0.01}),
    notes=(
        "Targets must be >= 0, rates (log_input=false) >= 0: other values are a 422 naming the index.",
        "Not a deviance: without full the log(y!) term is dropped, so values can be negative and the "
        "minimum over mu (at mu = y) is not 0; tweedie_deviance with power 1 is the deviance.",
        "log_input=true: log-rates above log(float64 max) ≈ 709.78 are a 422, since exp(x) overflows.",
        "Gradient 1 - y / (mu + epsilon), or exp(x) - y for log-rates; the Stirling term has none.",
    ),
    equivalents=(
        Equivalent(
            "PyTorch",
            "torch.nn.functional.poisson_nll_loss(p, y, log_input=log_input, full=full, eps=epsilon)",
            "same flags; " + TORCH_REDUCTION,
        ),
        Equivalent(
            "Keras",
            "keras.losses.Poisson()",
            "log_input=false, full=false, epsilon=1e-7; reduction sum_over_batch_size",
        ),
    ),
    differences=(
        "PyTorch's default log_input is true; this service's is false (predictions are rates, as Keras "
        "and tweedie_deviance take them). PyTorch returns inf for log-rates above 709.78; this service "
        "refuses them.",
        "PyTorch accepts negative rates and targets (giving NaN or meaningless values); they are refused.",
    ),
)
def poisson(
    predictions: np.ndarray, targets: np.ndarray, params: PoissonParams, want_gradient: bool
) -> Computed:
    """torch's poisson_nll_loss element-wise, with the Stirling term masked to targets > 1."""
    check_ndim(predictions, "predictions", (1, 2))
    check_same_shape(predictions, targets)
    check_range(targets, "targets", low=0.0, what="Poisson targets are counts (or rates), >= 0")
    y = targets
    gradient = None
    if params.log_input:
        check_range(
            predictions,
            "predictions",
            high=LOG_FLOAT64_MAX,
            what="log-rates this large overflow exp(x) in float64",
        )
        rate = np.exp(predictions)
        values = rate - y * predictions
        if want_gradient:
            gradient = rate - y
    else:
        check_range(
            predictions,
            "predictions",
            low=0.0,
            what="rates are >= 0 (set log_input=true to send log-rates)",
        )
        shifted = predictions + params.epsilon
        values = predictions - y * np.log(shifted)
        if want_gradient:
            gradient = 1.0 - y / shifted
    if params.full:
        big = y > 1.0
        ys = np.where(big, y, 1.0)
        stirling = ys * np.log(ys) - ys + 0.5 * np.log(2.0 * math.pi * ys)
        values = values + np.where(big, stirling, 0.0)
    return elementwise(values, gradient)


TWEEDIE_SHAPES = ("(N,)", "(N, D)")
TWEEDIE_MODES = (
    InputMode("normal (power 0)", "real", ("real",), TWEEDIE_SHAPES, {"power": 0.0}),
    InputMode("Poisson (power 1)", "positive", ("nonnegative",), TWEEDIE_SHAPES, {"power": 1.0}),
    InputMode("other powers", "positive", ("positive",), TWEEDIE_SHAPES),
)


class TweedieParams(Params):
    power: Annotated[float, Field(le=0)] | Annotated[float, Field(ge=1)] = Field(
        0.0,
        description=(
            "Tweedie power: <= 0 or >= 1 (no Tweedie distribution has 0 < power < 1). 0 normal, "
            "1 Poisson, (1, 2) compound Poisson-gamma, 2 gamma, 3 inverse Gaussian."
        ),
    )


def _tweedie_domain(predictions: np.ndarray, targets: np.ndarray, power: float) -> None:
    """scikit-learn's rules: which predictions and targets each power accepts."""
    rule = f"the Tweedie deviance with power={power!r} needs "
    if power == 0.0:
        return
    if power < 0:
        check_range(predictions, "predictions", low=0.0, low_open=True, what=rule + "predictions > 0")
    elif power < 2:
        check_range(
            predictions, "predictions", low=0.0, low_open=True, what=rule + "predictions > 0, targets >= 0"
        )
        check_range(targets, "targets", low=0.0, what=rule + "predictions > 0, targets >= 0")
    else:
        both = rule + "predictions > 0 and targets > 0"
        check_range(predictions, "predictions", low=0.0, low_open=True, what=both)
        check_range(targets, "targets", low=0.0, low_open=True, what=both)


@register(
    name="tweedie_deviance",
    params=TweedieParams,
    family="regression",
    summary="Unit deviance of the Tweedie distribution: squared error, Poisson, gamma and between.",
    formula=(
        "l = 2 (max(y, 0)^(2-k) / ((1-k)(2-k)) - y mu^(1-k) / (1-k) + mu^(2-k) / (2-k)) for power k; "
        "k = 0: (y - mu)^2;  k = 1: 2 (y log(y / mu) - y + mu);  k = 2: 2 (log(mu / y) + y / mu - 1)"
    ),
    modes=TWEEDIE_MODES,
    examples=({"power": 1.0}, {"power": 1.5}, {"power": 2.0}, {"power": 3.0}, {"power": -1.0}),
    notes=(
        "Domain as scikit-learn, each violation a 422 naming the index: power < 0 needs predictions > 0 "
        "(targets any real); power 0 any reals; 1 <= power < 2 needs predictions > 0 and targets >= 0; "
        "power >= 2 needs both > 0. The 'other powers' input mode lists targets every such power accepts.",
        "Gradient 2 mu^(-k) (mu - y). y log(y / mu) is 0 at y = 0. For power > 1 the deviance is "
        "computed as 2 [y mu^a expm1(a L) / a - mu^b expm1(b L) / b], a = 1 - k, b = 2 - k, "
        "L = log(y / mu), which stays accurate for powers near 1 and 2.",
        "power 0 equals mean_squared_error, power 1 is the Poisson deviance, power 2 the gamma deviance.",
    ),
    equivalents=(
        Equivalent(
            "scikit-learn",
            "sklearn.metrics.mean_tweedie_deviance(y, p, power=power, sample_weight=w)",
            "(N,) inputs; reduction mean",
        ),
        Equivalent("scikit-learn", "sklearn.metrics.mean_poisson_deviance(y, p, sample_weight=w)", "power 1"),
        Equivalent("scikit-learn", "sklearn.metrics.mean_gamma_deviance(y, p, sample_weight=w)", "power 2"),
    ),
    differences=(
        "scikit-learn refuses (N, D) inputs; here the per-sample loss is the mean over the D outputs and "
        "the breakdown holds mean_tweedie_deviance of each column.",
        "For powers other than 0, 1 and 2, scikit-learn sums three terms with factors 1/(1 - k) and "
        "1/(2 - k) that cancel: within 1e-3 of power 1 or 2 it loses digits (1e-4 relative at 1 + 1e-7). "
        "The expm1 form here is accurate to about 1e-13 there and agrees with scikit-learn to its own "
        "rounding elsewhere (about 1e-11 relative at power 1.5).",
    ),
)
def tweedie_deviance(
    predictions: np.ndarray, targets: np.ndarray, params: TweedieParams, want_gradient: bool
) -> Computed:
    """scikit-learn's _mean_tweedie_deviance element-wise, with its special cases at powers 0, 1 and 2."""
    check_ndim(predictions, "predictions", (1, 2))
    check_same_shape(predictions, targets)
    k = params.power
    _tweedie_domain(predictions, targets, k)
    mu, y = predictions, targets
    if k == 0.0:
        e = mu - y
        return elementwise(e * e, 2.0 * e if want_gradient else None)
    if k == 1.0:
        values = 2.0 * (xlogy(y, y / mu) - y + mu)
        gradient = 2.0 * (1.0 - y / mu)
    elif k == 2.0:
        values = 2.0 * (np.log(mu / y) + y / mu - 1.0)
        gradient = 2.0 * (mu - y) / (mu * mu)
    elif k < 0:
        # scikit-learn's first term uses max(y, 0), so the deviance is defined for y < 0.
        mu_a = mu ** (1.0 - k)  # one power: μ^(2−k) = μ^(1−k)·μ and μ^(−k) = μ^(1−k)/μ
        values = 2.0 * (
            np.maximum(y, 0.0) ** (2.0 - k) / ((1.0 - k) * (2.0 - k))
            - y * mu_a / (1.0 - k)
            + mu_a * mu / (2.0 - k)
        )
        gradient = 2.0 * (mu_a / mu) * (mu - y) if want_gradient else None
    else:
        # The same deviance as y (y^a − μ^a)/a − (y^b − μ^b)/b with a = 1 − k, b = 2 − k, and
        # (y^a − μ^a)/a = μ^a expm1(a log(y/μ))/a: scikit-learn's three terms each carry a factor
        # 1/(1 − k) or 1/(2 − k) that cancels, losing digits for powers near 1 and 2; this form
        # does not. At y = 0 (allowed for k < 2) it is 2 μ^b / b.
        a, b = 1.0 - k, 2.0 - k
        positive = y > 0
        log_ratio = np.log(np.where(positive, y, mu) / mu)
        mu_a = mu**a  # one power: μ^b = μ^a·μ and μ^(−k) = μ^a/μ
        mu_b = mu_a * mu
        both = y * mu_a * np.expm1(a * log_ratio) / a - mu_b * np.expm1(b * log_ratio) / b
        values = 2.0 * np.where(positive, both, mu_b / b)
        gradient = 2.0 * (mu_a / mu) * (mu - y) if want_gradient else None
    return elementwise(values, gradient if want_gradient else None)
