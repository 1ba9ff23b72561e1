import pytest

import reweightkit as rk


@pytest.fixture(scope="session")
def published():
    """The published example: (df, train_marginal, train_continuous, test_marginal)."""
    return rk.published_example()


def random_problem(seed, n=3000, levels=(5, 40, 300), n_cont=2, noise=0.05):
    """A random sparse calibration problem with ``sum(levels)`` count targets and ``n_cont`` totals."""
    return rk.experiment.synthetic_problem(n, levels, n_cont, noise, seed)
