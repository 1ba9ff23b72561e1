r"""The Hard Concrete gate (Louizos, Welling & Kingma 2018): its law in closed form.

A gate is ``z = clip(gamma + (zeta - gamma) s, 0, 1)`` with ``s`` the binary
concrete variable ``s = sigmoid((logit(u) + log_alpha) / beta)``, ``u ~ U(0, 1)``.
``z`` has an atom at 0 (the record is dropped), an atom at 1 and a density on
(0, 1).  The expected number of open gates, ``sum_j P(z_j != 0)``, is the L0
penalty that l0-python minimises (:mod:`reweightkit.solvers.hardconcrete`).
"""

from __future__ import annotations

import numpy as np
import scipy.special

__all__ = ["BETA", "GAMMA", "ZETA", "LOG_ALPHA_BOUND", "EPS", "gate_cdf", "gate_density", "gate_prob_zero",
           "gate_prob_one", "expected_l0", "sample_gates"]

BETA, GAMMA, ZETA = 2.0 / 3.0, -0.1, 1.1
LOG_ALPHA_BOUND = 20.0  # l0-python's clamp on log_alpha
EPS = 1e-6  # l0-python's clamp on the uniform noise


def _check_gate(beta, gamma, zeta):
    if not (np.isfinite(beta) and beta > 0):
        raise ValueError(f"beta (temperature) must be finite and > 0, got {beta}")
    if not (gamma < 0 and zeta > 1):
        raise ValueError(f"the stretch interval needs gamma < 0 < 1 < zeta, got gamma={gamma}, zeta={zeta}")


def _concrete_cdf(t, log_alpha, beta):
    """P(s <= t) for the binary concrete ``s = sigmoid((logit(u) + log_alpha) / beta)``, ``t`` in (0, 1)."""
    t = np.asarray(t, dtype=float)
    return scipy.special.expit(beta * scipy.special.logit(t) - log_alpha)


def gate_cdf(x, log_alpha, beta=BETA, gamma=GAMMA, zeta=ZETA):
    r"""P(z <= x) for the Hard Concrete gate ``z = clip(gamma + (zeta - gamma) s, 0, 1)``.

    ``s`` is the binary concrete variable with location ``log_alpha`` and temperature
    ``beta`` (Louizos, Welling & Kingma 2018, eq. 10-13).  ``z`` has an atom at 0, an
    atom at 1 and a density on (0, 1) (:func:`gate_density`).

    Parameters
    ----------
    x : float or ndarray
        Where to evaluate.
    log_alpha : float or ndarray
        Location of the gate (l0-python's ``log_alpha``).
    beta : float, default BETA (2/3)
        Temperature.
    gamma : float, default GAMMA (-0.1)
        Lower end of the stretch interval (< 0).
    zeta : float, default ZETA (1.1)
        Upper end of the stretch interval (> 1).

    Returns
    -------
    ndarray
        ``P(z <= x)``.
    """
    _check_gate(beta, gamma, zeta)
    x = np.asarray(x, dtype=float)
    t = np.clip((x - gamma) / (zeta - gamma), 1e-300, 1 - 1e-16)
    out = _concrete_cdf(t, log_alpha, beta)
    return np.where(x < 0, 0.0, np.where(x >= 1, 1.0, out))


def gate_density(x, log_alpha, beta=BETA, gamma=GAMMA, zeta=ZETA):
    """Density of the continuous part of the gate at ``x`` in (0, 1) (zero outside).

    Parameters
    ----------
    x : float or ndarray
        Where to evaluate.
    log_alpha : float or ndarray
        Location of the gate (l0-python's ``log_alpha``).
    beta : float, default BETA (2/3)
        Temperature.
    gamma : float, default GAMMA (-0.1)
        Lower end of the stretch interval (< 0).
    zeta : float, default ZETA (1.1)
        Upper end of the stretch interval (> 1).

    Returns
    -------
    ndarray
        The density (it integrates to ``1 - P(z = 0) - P(z = 1)``).
    """
    _check_gate(beta, gamma, zeta)
    x = np.asarray(x, dtype=float)
    t = np.clip((x - gamma) / (zeta - gamma), 1e-300, 1 - 1e-16)
    c = _concrete_cdf(t, log_alpha, beta)
    dens = c * (1 - c) * beta / (t * (1 - t)) / (zeta - gamma)
    return np.where((x > 0) & (x < 1), dens, 0.0)


def gate_prob_zero(log_alpha, beta=BETA, gamma=GAMMA, zeta=ZETA):
    """P(z = 0): the probability that the gate closes the record.

    Parameters
    ----------
    log_alpha : float or ndarray
        Location of the gate (l0-python's ``log_alpha``).
    beta : float, default BETA (2/3)
        Temperature.
    gamma : float, default GAMMA (-0.1)
        Lower end of the stretch interval (< 0).
    zeta : float, default ZETA (1.1)
        Upper end of the stretch interval (> 1).

    Returns
    -------
    float or ndarray
    """
    _check_gate(beta, gamma, zeta)
    return _concrete_cdf(-gamma / (zeta - gamma), log_alpha, beta)


def gate_prob_one(log_alpha, beta=BETA, gamma=GAMMA, zeta=ZETA):
    """P(z = 1): the probability that the gate is fully open.

    Parameters
    ----------
    log_alpha : float or ndarray
        Location of the gate (l0-python's ``log_alpha``).
    beta : float, default BETA (2/3)
        Temperature.
    gamma : float, default GAMMA (-0.1)
        Lower end of the stretch interval (< 0).
    zeta : float, default ZETA (1.1)
        Upper end of the stretch interval (> 1).

    Returns
    -------
    float or ndarray
    """
    _check_gate(beta, gamma, zeta)
    return 1.0 - _concrete_cdf((1 - gamma) / (zeta - gamma), log_alpha, beta)


def expected_l0(log_alpha, beta=BETA, gamma=GAMMA, zeta=ZETA):
    r"""``P(z != 0) = sigmoid(log_alpha - beta log(-gamma / zeta))``: one record's expected-L0 penalty.

    The closed form l0-python's ``get_l0_penalty`` sums over records; it equals
    ``1 - gate_prob_zero`` (tested).

    Parameters
    ----------
    log_alpha : float or ndarray
        Location of the gate (l0-python's ``log_alpha``).
    beta : float, default BETA (2/3)
        Temperature.
    gamma : float, default GAMMA (-0.1)
        Lower end of the stretch interval (< 0).
    zeta : float, default ZETA (1.1)
        Upper end of the stretch interval (> 1).

    Returns
    -------
    float or ndarray
    """
    _check_gate(beta, gamma, zeta)
    return scipy.special.expit(np.asarray(log_alpha, dtype=float) - beta * np.log(-gamma / zeta))


def sample_gates(log_alpha, size, seed, beta=BETA, gamma=GAMMA, zeta=ZETA):
    """``size`` draws of the gate from ``numpy.random.default_rng(seed)`` (for plots and checks).

    Parameters
    ----------
    log_alpha : float or ndarray
        Location of the gate (l0-python's ``log_alpha``).
    size : int or tuple of int
        Number (shape) of draws.
    seed : int
        Seed of the generator.
    beta : float, default BETA (2/3)
        Temperature.
    gamma : float, default GAMMA (-0.1)
        Lower end of the stretch interval (< 0).
    zeta : float, default ZETA (1.1)
        Upper end of the stretch interval (> 1).

    Returns
    -------
    ndarray
        Gate values in [0, 1].
    """
    _check_gate(beta, gamma, zeta)
    u = np.random.default_rng(seed).uniform(1e-6, 1 - 1e-6, size)
    s = scipy.special.expit((np.log(u) - np.log1p(-u) + log_alpha) / beta)
    return np.clip(gamma + (zeta - gamma) * s, 0.0, 1.0)
