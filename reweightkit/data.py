"""Example data: the published comparison's example, rebuilt from its description."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["published_example", "AGE_GROUPS"]

AGE_GROUPS = ["0-17", "18-34", "35-54", "55-64", "65+"]


def published_example(n: int = 5000):
    """The 5,000-record example of the published L1-vs-L0 comparison.

    Records come from ``numpy.random.RandomState(42)`` in the published order:
    ``age_group`` from five groups with probabilities (0.22, 0.22, 0.26, 0.13,
    0.17), ``is_male`` with P(True) = 0.49, and a lognormal(8, 0.5) survey
    ``weight`` (mean about 3,000).  Targets come from ``RandomState(123)``, in
    the published order: train = age-group counts (in ``value_counts`` order)
    times U(0.7, 1.3), rounded, and the total weight times U(0.9, 1.1),
    rounded; held out = sex counts times U(0.8, 1.2), rounded.

    Note that the held-out sex targets are the sample's own counts times
    independent noise: nothing the fit sees predicts them (see
    :func:`reweightkit.superpopulation` for a benchmark where it does).

    Returns
    -------
    df : DataFrame, n rows (``age_group``, ``is_male``, ``weight``)
    train_marginal : dict ``{"age_group": {group: count}}``
    train_continuous : dict ``{"weight": total}``
    test_marginal : dict ``{"is_male": {True: count, False: count}}``
    """
    rng = np.random.RandomState(42)
    df = pd.DataFrame(
        {
            "age_group": rng.choice(AGE_GROUPS, n, p=[0.22, 0.22, 0.26, 0.13, 0.17]),
            "is_male": rng.choice([True, False], n, p=[0.49, 0.51]),
            "weight": rng.lognormal(8.0, 0.5, n),
        }
    )
    rng2 = np.random.RandomState(123)
    train_marginal = {
        "age_group": {cat: round(count * rng2.uniform(0.7, 1.3)) for cat, count in df["age_group"].value_counts().items()}
    }
    train_continuous = {"weight": round(df["weight"].sum() * rng2.uniform(0.9, 1.1))}
    test_marginal = {
        "is_male": {cat: round(count * rng2.uniform(0.8, 1.2)) for cat, count in df["is_male"].value_counts().items()}
    }
    return df, train_marginal, train_continuous, test_marginal
