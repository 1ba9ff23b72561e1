"""Example data: the published comparison's example, rebuilt from its description."""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd

from .._validation import MAX_SEED, Interval, validate_params

__all__ = ["published_example", "superpopulation", "synthetic_problem", "AGE_GROUPS", "REGIONS"]

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

    Parameters
    ----------
    n : int, default 5000
        Number of records (the published example has 5,000).

    Returns
    -------
    df : DataFrame, n rows (``age_group``, ``is_male``, ``weight``)
    train_marginal : dict ``{"age_group": {group: count}}``
    train_continuous : dict ``{"weight": total}``
    test_marginal : dict ``{"is_male": {True: count, False: count}}``
    """
    validate_params({"n": [Interval(Integral, 1, None)]}, {"n": n})
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


REGIONS = ["north", "south", "east", "west"]


def superpopulation(seed: int = 0, n_sample: int = 5000, population_size: int = 200_000, population_seed: int = 2026):
    """A benchmark whose held-out targets the train targets can predict.

    Generative model (population fixed by ``population_seed``):

    - ``region`` in {north, south, east, west} with P = (0.3, 0.25, 0.25, 0.2);
    - ``age_group`` (five groups as in the published example), probabilities
      depending on region (the south is older);
    - ``is_male`` with P(male) = 0.5, falling to 0.44 at 65+;
    - ``household_size`` in 1..5: 1 + Poisson(mean 1.6 for ages 18-54 and
      0-17, 0.7 for 55+), capped at 5;
    - ``employed`` with logit P = -0.2 + 1.6 [18-54] + 0.6 [55-64] - 3 [0-17 or 65+]
      + 0.4 male + 0.3 (region = west);
    - ``income`` = lognormal: log income = 9.2 + 1.1 employed + 0.25 male
      + 0.2 (region = west) + 0.15 (age 35-54) + N(0, 0.6^2); zero for 0-17.

    The sample (``seed``) is Poisson sampling with inclusion probabilities
    proportional to ``1 + 2 * employed + 0.5 * (age 65+)`` (informative
    selection: the employed are over-represented), scaled to ``n_sample``
    records on average; ``weight`` = 1 / pi.

    Train targets: true population counts of ``age_group`` and ``region``,
    and total ``income``.  Held-out targets: true counts of ``is_male``,
    ``employed`` (True/False) and ``household_size``.  Employment and
    household size depend on age, region and income, so a calibration that
    fits the train totals well should move the held-out estimates toward
    the truth; how much sparsity costs is then a real question.

    Parameters
    ----------
    seed : int, default 0
        Seed of the sample (the Poisson draw).
    n_sample : int, default 5000
        Expected sample size.
    population_size : int, default 200_000
        Records in the population.
    population_seed : int, default 2026
        Seed of the population.

    Returns
    -------
    df : DataFrame
        The sample, with ``weight = 1 / pi``.
    train_marginal, train_continuous, test_marginal : dict
        True population totals.
    """
    validate_params({"seed": [Interval(Integral, 0, MAX_SEED)], "n_sample": [Interval(Integral, 1, None)],
                     "population_size": [Interval(Integral, 1, None)],
                     "population_seed": [Interval(Integral, 0, MAX_SEED)]},
                    {"seed": seed, "n_sample": n_sample, "population_size": population_size,
                     "population_seed": population_seed})
    if n_sample > population_size:
        raise ValueError(f"n_sample ({n_sample}) must not exceed population_size ({population_size})")
    rng = np.random.default_rng(population_seed)
    N = population_size
    region = rng.choice(REGIONS, N, p=[0.3, 0.25, 0.25, 0.2])
    p_young = np.array([0.22, 0.22, 0.26, 0.13, 0.17])
    p_old = np.array([0.17, 0.18, 0.25, 0.16, 0.24])
    south = region == "south"
    age = np.where(south, rng.choice(AGE_GROUPS, N, p=p_old), rng.choice(AGE_GROUPS, N, p=p_young))
    senior = age == "65+"
    male = rng.random(N) < np.where(senior, 0.44, 0.5)
    child, prime = age == "0-17", np.isin(age, ["18-34", "35-54"])
    hh = np.minimum(1 + rng.poisson(np.where(np.isin(age, ["55-64", "65+"]), 0.7, 1.6)), 5)
    logit = -0.2 + 1.6 * prime + 0.6 * (age == "55-64") - 3.0 * (child | senior) + 0.4 * male + 0.3 * (region == "west")
    employed = rng.random(N) < 1 / (1 + np.exp(-logit))
    log_inc = 9.2 + 1.1 * employed + 0.25 * male + 0.2 * (region == "west") + 0.15 * (age == "35-54")
    income = np.where(child, 0.0, np.exp(log_inc + rng.normal(0, 0.6, N)))
    pop = pd.DataFrame({"region": region, "age_group": age, "is_male": male, "household_size": hh,
                        "employed": employed, "income": income})
    size = 1 + 2.0 * employed + 0.5 * senior
    pi = np.minimum(n_sample * size / size.sum(), 1.0)
    srng = np.random.default_rng(seed)
    take = srng.random(N) < pi
    df = pop[take].reset_index(drop=True)
    df["weight"] = 1.0 / pi[take]

    def counts(col):
        return {k: int(v) for k, v in pop[col].value_counts().sort_index().items()}

    train_marginal = {"age_group": counts("age_group"), "region": counts("region")}
    train_continuous = {"income": float(pop["income"].sum())}
    test_marginal = {"is_male": counts("is_male"), "employed": counts("employed"),
                     "household_size": counts("household_size")}
    return df, train_marginal, train_continuous, test_marginal


def synthetic_problem(n, levels=(5, 40, 300), n_cont=2, noise=0.05, seed=0):
    """A random sparse calibration problem (for tests and benchmarks), from ``default_rng(seed)``.

    ``n`` records; one integer column ``c{k}`` with ``levels[k]`` categories per entry of
    ``levels`` (each a complete margin: ``sum(levels)`` count targets), ``n_cont``
    lognormal(0, 1) columns ``x{k}`` with total targets, and a lognormal(3, 0.4)
    ``weight``.  Targets are the design-weighted totals times independent
    U(1 - noise, 1 + noise) factors.

    Parameters
    ----------
    n : int
        Records.
    levels : tuple of int, default (5, 40, 300)
        Categories of each categorical column.
    n_cont : int, default 2
        Continuous columns.
    noise : float, default 0.05
        Half-width of the multiplicative target noise.
    seed : int, default 0
        Seed.

    Returns
    -------
    df : DataFrame
        Records.
    marginal_targets, continuous_targets : dict
        Targets.
    """
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({f"c{k}": rng.integers(0, L, n) for k, L in enumerate(levels)})
    for k in range(n_cont):
        df[f"x{k}"] = rng.lognormal(0, 1, n)
    df["weight"] = rng.lognormal(3, 0.4, n)
    w = df["weight"].to_numpy()
    marg = {}
    for k in range(len(levels)):
        tot = pd.Series(w).groupby(df[f"c{k}"]).sum()
        marg[f"c{k}"] = {int(c): float(v * rng.uniform(1 - noise, 1 + noise)) for c, v in tot.items()}
    cont = {f"x{k}": float((w * df[f"x{k}"]).sum() * rng.uniform(1 - noise, 1 + noise)) for k in range(n_cont)}
    return df, marg, cont
