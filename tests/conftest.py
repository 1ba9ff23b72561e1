import numpy as np
import pandas as pd
import pytest

import reweightkit as rk


@pytest.fixture(scope="session")
def published():
    """The published example: (df, train_marginal, train_continuous, test_marginal)."""
    return rk.published_example()


def random_problem(seed, n=3000, levels=(5, 40, 300), n_cont=2, noise=0.05):
    """A random sparse calibration problem with ``sum(levels)`` count targets and ``n_cont`` totals."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({f"c{k}": rng.integers(0, L, n) for k, L in enumerate(levels)})
    for k in range(n_cont):
        df[f"x{k}"] = rng.lognormal(0, 1, n)
    df["weight"] = rng.lognormal(3, 0.4, n)
    w = df["weight"].to_numpy()
    marg = {}
    for k in range(len(levels)):
        col = f"c{k}"
        tot = pd.Series(w).groupby(df[col]).sum()
        marg[col] = {int(c): float(v * rng.uniform(1 - noise, 1 + noise)) for c, v in tot.items()}
    cont = {f"x{k}": float((w * df[f"x{k}"]).sum() * rng.uniform(1 - noise, 1 + noise)) for k in range(n_cont)}
    return df, marg, cont
