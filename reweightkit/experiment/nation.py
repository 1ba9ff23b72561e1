r"""A national-scale benchmark: a synthetic country, a survey of its households, targets in families.

The generative model (every draw from one ``numpy.random.default_rng(seed)``):

* **Geography.** ``S`` states with ``D_s`` districts each (``S = round(50 sqrt(scale))``,
  ``D_s = round(14 sqrt(scale))``, at least 3 and 2).  State and district sizes are lognormal
  (sd 0.6 and 0.5).  Each district has an income effect ``u ~ N(0, 0.35)`` and an age effect
  ``v ~ N(0, 0.4)`` (positive: older); each state a program-take-up effect ``t ~ N(0, 0.3)`` and an
  income-tax rate uniform on [0, 7 %].
* **Households** (``N = POP_PER_RECORD * n`` of them): size ``1 + Poisson(1.5 exp(-0.4 v))`` capped
  at 7; the head is 20 or older, other members' ages follow a district-tilted distribution over nine
  groups (0-9, ..., 80+; older where ``v > 0``), sex is a fair coin.  Household income is
  ``exp(10.6 + u + 0.25 (adults - 1) + e)``, ``e ~ N(0, 0.7)``, with a Pareto tail (shape 1.8) for
  the top 2 %: heavy-tailed.  Tenure (owner) is logistic in log income and the head's age.  SNAP
  participation is logistic in log income (falling), size and the state effect; Medicaid covers each
  person of a household with a probability logistic in log income, rising for children and people
  over 65; state income tax is the state rate times income above an allowance.
* **Survey** (``n = round(300,000 scale)`` households): systematic PPS sampling in geographic order
  (implicit stratification) with size measure ``exp(-0.35 (log income - 10.6)) (1 + 0.8 snap)``:
  the poor and program participants are over-sampled, as in real surveys, so the design weights
  ``1 / pi`` are unequal and informative.  Sampled households then respond with probability
  ``logistic(0.3 + 0.6 (log income - 10.6) - 0.6 snap + 0.2 (head's age group - 4))``, which the
  design weights do not know: they under-count the population (by the response rate) and tilt it
  toward richer, older, non-participating households.  About ``n`` households respond; the
  benchmark's records are the respondents (the draw size is set so that the expected number of
  respondents is ``n``).  Calibration exists to remove exactly this bias.

**Targets** are the population's exact totals (computed on all ``N`` households), in 16 named
families: district counts of persons by age x sex, of households by size, by income bracket (5),
by tenure, of SNAP households, district income; state households and income amounts by income
bracket (10), SNAP households, Medicaid persons, state income tax, persons by age x household
income bracket; national persons by age x sex, and national totals (households, persons, income,
SNAP).  Targets no sampled household contributes to (a rare cell empty in the survey) or whose
population value is zero are left out (``n_dropped``).  Everything is sparse: the survey's
targets x records matrix is built as CSR from codes, never densified.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._validation import check_seed
from ..problem.system import CalibrationProblem, prepare_matrix
from ..solvers.cube import inclusion_probabilities, systematic_sample

__all__ = ["nation", "NationBenchmark", "NATION_FAMILIES", "NATION_FAMILY_TREE", "POP_PER_RECORD"]

POP_PER_RECORD = 8
"""Population households per survey record (a 12.5 % sampling fraction on average)."""
AGE_GROUPS = ["0-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80+"]
SEXES = ["F", "M"]
SIZE_CLASSES = ["1", "2", "3", "4", "5+"]
INCOME_EDGES = np.array([10_000, 20_000, 30_000, 40_000, 55_000, 75_000, 100_000, 150_000, 250_000])
COARSE_EDGES = np.array([20_000, 40_000, 75_000, 150_000])
NATION_FAMILIES = (
    "district_age_sex", "district_household_size", "district_income_bracket", "district_tenure", "district_snap",
    "district_income", "state_income_bracket_count", "state_income_bracket_amount", "state_snap",
    "state_medicaid_persons", "state_tax", "state_age_income", "national_age_sex", "national_households",
    "national_persons", "national_income",
)
"""The target families, in the order of :attr:`NationBenchmark.families`."""
NATION_FAMILY_TREE = {
    "state_snap": ("district_snap",),
    "national_age_sex": ("district_age_sex",),
    "national_households": ("district_household_size", "district_income_bracket", "district_tenure",
                            "state_income_bracket_count"),
    "national_persons": ("district_age_sex", "state_age_income", "national_age_sex"),
    "national_income": ("district_income", "state_income_bracket_amount"),
}
"""How the benchmark's families nest by construction: ``family -> families whose targets sum to each of its targets``
(districts partition states, states the nation; every person or household family partitions persons or households).
A survey can add accidental nestings (a cell with one sampled household makes its count and its amount
proportional); :func:`reweightkit.problem.family_nesting` finds those on the matrix itself."""


@dataclass(frozen=True)
class NationBenchmark:
    """A national benchmark: the survey's targets x records matrix, the targets, the design weights.

    Parameters
    ----------
    A : csr_matrix, shape (m, n)
        Each survey household's contribution to each target.
    b : ndarray, shape (m,)
        The population's totals.
    design_weights : ndarray, shape (n,)
        ``1 / pi`` of the survey design.
    names : list of str
        Target names (``family:geography/cell``).
    families : list of str
        Each target's family (one of :data:`NATION_FAMILIES`).
    records : DataFrame
        The survey households (state, district, size, persons, income, bracket, owner, snap,
        medicaid persons, state tax, pi).
    population_households : int
        ``N``.
    n_dropped : int
        Targets left out (zero in the population or with no survey household).
    seed : int
        The seed it was drawn with.
    population : dict or None
        With ``nation(..., population=True)``: ``households`` and ``persons`` DataFrames of the
        whole population the targets were computed on (for checks; large).
    """

    A: sp.csr_matrix
    b: np.ndarray
    design_weights: np.ndarray
    names: list
    families: list
    records: pd.DataFrame = field(repr=False)
    population_households: int
    n_dropped: int
    seed: int
    population: dict = field(default=None, repr=False)

    @property
    def shape(self):
        """``(targets, records)``."""
        return self.A.shape

    def problem(self) -> CalibrationProblem:
        """Every target, prepared (:func:`reweightkit.prepare_matrix`).

        Returns
        -------
        CalibrationProblem
        """
        return prepare_matrix(self.A, self.b, self.design_weights, names=self.names, families=self.families,
                              index=self.records.index)

    @property
    def family_tree(self) -> dict:
        """The families' nesting by construction (:data:`NATION_FAMILY_TREE`), restricted to the families present.

        Returns
        -------
        dict
            ``family -> tuple of families whose targets sum to each of its targets``.
        """
        have = set(self.families)
        return {h: tuple(g for g in gs if g in have) for h, gs in NATION_FAMILY_TREE.items()
                if h in have and any(g in have for g in gs)}

    def family_sizes(self) -> pd.Series:
        """Number of targets per family.

        Returns
        -------
        Series
        """
        return pd.Series(self.families).value_counts().reindex(list(NATION_FAMILIES)).dropna().astype(int)


def _check_scale(scale):
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.integer, np.floating)) \
            or not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be a finite number > 0 (1.0: about 300,000 records x 30,000 targets), "
                         f"got {scale!r}")
    if 300_000 * scale < 200:
        raise ValueError(f"scale={scale!r} gives fewer than 200 survey records; use scale >= 0.001")
    need = PEAK_BYTES_PER_SCALE * float(scale)
    have = _physical_memory()
    if have is not None and need > 0.8 * have:
        raise ValueError(f"scale={scale!r} needs about {need / 1e9:.1f} GB while building (the population: "
                         f"{2.4 * scale:.3g} million households), more than 80 % of this machine's "
                         f"{have / 1e9:.1f} GB; use scale <= {0.8 * have / PEAK_BYTES_PER_SCALE:.2g}")


PEAK_BYTES_PER_SCALE = 1.6e9
"""Peak memory of building the benchmark, per unit of scale (measured: about 1.5 GB at scale 1)."""


def _physical_memory():
    """This machine's physical memory in bytes (None where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return None


def _draw_category(p, group, u):
    """Inverse-CDF draws from row ``group[i]`` of the (G, k) probabilities ``p``, in O(len(u)) memory.

    The inner edges of every row, shifted by the row number, form one sorted array: a draw for
    row ``g`` is ``searchsorted(g + u) - (k - 1) g``.
    """
    G, k = p.shape
    edges = (np.arange(G)[:, None] + np.cumsum(p, axis=1)[:, :-1]).ravel()
    cat = np.searchsorted(edges, group + u, side="right") - (k - 1) * group
    return np.clip(cat, 0, k - 1)


def _logistic(x):
    return 1.0 / (1.0 + np.exp(-x))


def nation(scale=0.05, seed=0, population=False) -> NationBenchmark:
    """Draw a national benchmark (see the module docstring for the generative model).

    Parameters
    ----------
    scale : float, default 0.05
        Size: ``scale = 1`` gives about 300,000 survey households x 28,000 targets (50 states,
        700 districts) drawn from 2.4 million; records grow with ``scale``, states and districts
        with ``sqrt(scale)`` each.
    seed : int, default 0
        Seeds every draw (population and survey).
    population : bool, default False
        Also return the population (households and persons) the targets were computed on.

    Returns
    -------
    NationBenchmark
    """
    _check_scale(scale)
    seed = check_seed(seed)
    rng = np.random.default_rng(seed)
    n = int(round(300_000 * scale))
    n_states = max(3, int(round(50 * np.sqrt(scale))))
    per_state = max(2, int(round(14 * np.sqrt(scale))))
    D = n_states * per_state
    N = POP_PER_RECORD * n

    # geography: households sorted by district (so systematic sampling stratifies implicitly)
    state_share = rng.lognormal(0, 0.6, n_states)
    dist_share = rng.lognormal(0, 0.5, D) * np.repeat(state_share / state_share.sum(), per_state)
    dist_share /= dist_share.sum()
    district = np.repeat(np.arange(D), rng.multinomial(N, dist_share))
    state = district // per_state
    u_d, v_d = rng.normal(0, 0.35, D), rng.normal(0, 0.4, D)
    t_s, rate_s = rng.normal(0, 0.3, n_states), rng.uniform(0, 0.07, n_states)

    # persons
    size = np.minimum(1 + rng.poisson(1.5 * np.exp(-0.4 * v_d[district])), 7)
    hh_of = np.repeat(np.arange(N), size)
    first = np.zeros(hh_of.size, dtype=bool)
    first[np.concatenate([[0], np.cumsum(size)[:-1]])] = True
    tilt = np.linspace(-1.0, 1.0, len(AGE_GROUPS))  # older groups gain where v > 0
    base = np.array([0.13, 0.13, 0.13, 0.13, 0.13, 0.12, 0.11, 0.08, 0.04])
    logits = np.log(base)[None, :] + v_d[:, None] * tilt[None, :]
    p_age = np.exp(logits)
    p_age /= p_age.sum(axis=1, keepdims=True)
    p_head = p_age.copy()
    p_head[:, :2] = 0.0
    p_head /= p_head.sum(axis=1, keepdims=True)
    u = rng.random(hh_of.size)
    d_p = district[hh_of]
    age = np.where(first, _draw_category(p_head, d_p, u), _draw_category(p_age, d_p, u))
    sex = rng.integers(0, 2, hh_of.size)
    adults = np.bincount(hh_of, weights=(age >= 2).astype(float), minlength=N)
    head_age = age[first]

    # income (heavy-tailed), tenure, programs, tax
    log_inc = 10.6 + u_d[district] + 0.25 * (adults - 1) + rng.normal(0, 0.7, N)
    income = np.exp(log_inc)
    top = rng.random(N) < 0.02
    income[top] *= rng.pareto(1.8, int(top.sum())) + 1.0
    bracket = np.searchsorted(INCOME_EDGES, income, side="right")
    coarse = np.searchsorted(COARSE_EDGES, income, side="right")
    li = np.log(income) - 10.6
    owner = rng.random(N) < _logistic(0.2 + 1.1 * li + 0.35 * (head_age - 4))
    snap = rng.random(N) < _logistic(-1.6 - 1.6 * li + 0.25 * (size - 2) + t_s[state])
    kid_or_old = ((age <= 1) | (age >= 7)).astype(float)
    medicaid_p = rng.random(hh_of.size) < _logistic(-1.8 - 1.5 * li[hh_of] + 0.8 * kid_or_old + t_s[state[hh_of]])
    medicaid = np.bincount(hh_of, weights=medicaid_p.astype(float), minlength=N)
    tax = rate_s[state] * np.maximum(income - 12_000.0 * np.maximum(adults, 1), 0.0)

    # the survey: systematic PPS in geographic order, over-sampling low income and SNAP; then
    # nonresponse the design does not know about (the rich, the old and non-participants answer more)
    respond = _logistic(0.3 + 0.6 * li - 0.6 * snap + 0.2 * (head_age - 4))
    measure = np.exp(-0.35 * li) * (1.0 + 0.8 * snap)
    k = int(min(round(n * N / float((measure * respond).sum() / measure.sum() * N)), N))
    pi = inclusion_probabilities(measure, k)
    take = systematic_sample(pi, rng=rng)
    take &= rng.random(N) < respond
    rec = np.flatnonzero(take)
    n = rec.size
    col_of = np.full(N, -1)
    col_of[rec] = np.arange(n)

    # families: (name, number of cells, household-level code and value) or person-level
    hh_families = [
        ("district_household_size", D * 5, district * 5 + np.minimum(size, 5) - 1, None),
        ("district_income_bracket", D * 5, district * 5 + coarse, None),
        ("district_tenure", D * 2, district * 2 + owner, None),
        ("district_snap", D, np.where(snap, district, -1), None),
        ("district_income", D, district, income),
        ("state_income_bracket_count", n_states * 10, state * 10 + bracket, None),
        ("state_income_bracket_amount", n_states * 10, state * 10 + bracket, income),
        ("state_snap", n_states, np.where(snap, state, -1), None),
        ("state_medicaid_persons", n_states, state, medicaid),
        ("state_tax", n_states, state, tax),
        ("national_households", 1, np.zeros(N, dtype=int), None),
        ("national_persons", 1, np.zeros(N, dtype=int), size.astype(float)),
        ("national_income", 1, np.zeros(N, dtype=int), income),
    ]
    person_families = [
        ("district_age_sex", D * 18, d_p * 18 + age * 2 + sex),
        ("state_age_income", n_states * 90, state[hh_of] * 90 + age * 10 + bracket[hh_of]),
        ("national_age_sex", 18, age * 2 + sex),
    ]
    dist_label = [f"s{s:02d}/d{d % per_state:02d}" for d, s in zip(range(D), np.arange(D) // per_state)]
    state_label = [f"s{s:02d}" for s in range(n_states)]
    bracket_label = ["<10k", "10-20k", "20-30k", "30-40k", "40-55k", "55-75k", "75-100k", "100-150k", "150-250k",
                     "250k+"]
    coarse_label = ["<20k", "20-40k", "40-75k", "75-150k", "150k+"]
    age_sex = [f"{a}/{s}" for a in AGE_GROUPS for s in SEXES]

    def cell_names(fam, k):
        if fam == "district_age_sex":
            return [f"{dist_label[i // 18]}/{age_sex[i % 18]}" for i in range(k)]
        if fam == "district_household_size":
            return [f"{dist_label[i // 5]}/size {SIZE_CLASSES[i % 5]}" for i in range(k)]
        if fam == "district_income_bracket":
            return [f"{dist_label[i // 5]}/{coarse_label[i % 5]}" for i in range(k)]
        if fam == "district_tenure":
            return [f"{dist_label[i // 2]}/{'owner' if i % 2 else 'renter'}" for i in range(k)]
        if fam in ("district_snap", "district_income"):
            return dist_label[:k]
        if fam in ("state_income_bracket_count", "state_income_bracket_amount"):
            return [f"{state_label[i // 10]}/{bracket_label[i % 10]}" for i in range(k)]
        if fam == "state_age_income":
            return [f"{state_label[i // 90]}/{AGE_GROUPS[(i % 90) // 10]}/{bracket_label[i % 10]}" for i in range(k)]
        if fam.startswith("state_"):
            return state_label[:k]
        if fam == "national_age_sex":
            return age_sex
        return ["total"]

    rows, cols, vals, bs, names, fams = [], [], [], [], [], []
    offset = 0
    order = {f: i for i, f in enumerate(NATION_FAMILIES)}
    blocks = []
    for fam, k, code, value in hh_families:
        ok = code >= 0
        w = np.ones(N) if value is None else value
        b_f = np.bincount(code[ok], weights=w[ok], minlength=k)
        s_ok = ok[rec]
        blocks.append((order[fam], fam, k, b_f, code[rec][s_ok], np.flatnonzero(s_ok), w[rec][s_ok]))
    in_sample = take[hh_of]
    for fam, k, code in person_families:
        b_f = np.bincount(code, minlength=k).astype(float)
        blocks.append((order[fam], fam, k, b_f, code[in_sample], col_of[hh_of[in_sample]], np.ones(int(in_sample.sum()))))
    for _, fam, k, b_f, r, c, v in sorted(blocks, key=lambda x: x[0]):
        rows.append(r + offset)
        cols.append(c)
        vals.append(v)
        bs.append(b_f)
        names.extend(f"{fam}:{x}" for x in cell_names(fam, k))
        fams.extend([fam] * k)
        offset += k
    A = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(offset, n))
    A.sum_duplicates()
    b = np.concatenate(bs)
    covered = np.diff(A.indptr) > 0
    keep = covered & (b > 0)
    A = A[keep].tocsr()
    b = b[keep]
    names = [x for x, k in zip(names, keep) if k]
    fams = [x for x, k in zip(fams, keep) if k]
    records = pd.DataFrame({
        "state": state[rec], "district": district[rec], "size": size[rec], "income": income[rec],
        "bracket": bracket[rec], "owner": owner[rec], "snap": snap[rec], "medicaid_persons": medicaid[rec],
        "state_tax": tax[rec], "pi": pi[rec]}, index=pd.RangeIndex(n, name="household"))
    pop = None
    if population:
        pop = {"households": pd.DataFrame({"state": state, "district": district, "size": size, "income": income,
                                           "bracket": bracket, "coarse": coarse, "owner": owner, "snap": snap,
                                           "medicaid_persons": medicaid, "state_tax": tax, "sampled": take}),
               "persons": pd.DataFrame({"household": hh_of, "age": age, "sex": sex})}
    return NationBenchmark(A=A, b=b, design_weights=1.0 / pi[rec], names=names, families=fams, records=records,
                           population_households=N, n_dropped=int((~keep).sum()), seed=seed, population=pop)
