"""What a comparison fits and scores: the train problem prepared once, the held-out targets built once.

A :class:`CalibrationTask` holds both; :func:`family_holdout_tasks` makes one per held-out
target family (targets nest within families, so whole families are held out).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..problem.frame import build_system, prepare
from ..problem.scoring import Scorer
from ..problem.system import CalibrationProblem, CalibrationSystem, prepare_matrix, prepare_system

__all__ = ["CalibrationTask", "family_holdout_tasks", "check_task"]


@dataclass(frozen=True)
class CalibrationTask:
    """What a comparison fits and scores: the train problem prepared once, the held-out targets built once.

    Parameters
    ----------
    problem : CalibrationProblem
        The train targets, prepared (:func:`reweightkit.prepare`).
    test : CalibrationSystem or None
        The held-out targets on the same records (:func:`reweightkit.build_system`).

    Attributes
    ----------
    scorer : Scorer
        Scores any weight vector on both.
    """

    problem: CalibrationProblem
    test: CalibrationSystem | None = None
    scorer: Scorer = field(init=False, repr=False)

    def __post_init__(self):
        if not isinstance(self.problem, CalibrationProblem):
            raise TypeError(f"problem must be a CalibrationProblem (see rk.prepare), got {type(self.problem).__name__}")
        object.__setattr__(self, "scorer", Scorer(self.problem.system, self.test, self.problem.w0))

    @classmethod
    def from_targets(cls, df, train_marginal=None, train_continuous=None, test_marginal=None, test_continuous=None,
                     weight_col="weight"):
        """Prepare the train problem and build the held-out system, once each.

        Parameters
        ----------
        df : DataFrame
            Microdata (never modified).
        train_marginal, train_continuous : dict, optional
            The targets every method fits.
        test_marginal, test_continuous : dict, optional
            Held-out targets (scores are NaN without them).
        weight_col : str or None, default "weight"
            Design weights.

        Returns
        -------
        CalibrationTask
        """
        test = build_system(df, test_marginal, test_continuous) if (test_marginal or test_continuous) else None
        return cls(prepare(df, train_marginal, train_continuous, weight_col), test)

    @classmethod
    def from_problem(cls, problem, holdout=None):
        """Hold out whole target families of a prepared problem: fit the others, score on them.

        Targets nest within families (district counts sum to state counts), so a random
        split of target rows leaks; holding out whole families does not.  The train
        problem is re-prepared from the remaining rows only (its start point included),
        so no held-out target reaches a fit.

        Parameters
        ----------
        problem : CalibrationProblem
            Every target (:func:`reweightkit.prepare` or :func:`reweightkit.prepare_matrix`).
        holdout : family label or list of them, optional
            The families held out (``problem.system.families``); none when omitted.

        Returns
        -------
        CalibrationTask
        """
        if not isinstance(problem, CalibrationProblem):
            raise TypeError(f"problem must be a CalibrationProblem (see rk.prepare_matrix), got {type(problem).__name__}")
        if holdout is None:
            holdout = []
        elif isinstance(holdout, (str, bytes)) or not isinstance(holdout, Iterable):
            holdout = [holdout]  # one family label (text or a number)
        else:
            holdout = list(holdout)
        if not holdout:
            return cls(problem, None)
        mask = problem.system.family_rows(holdout)
        if mask.all():
            raise ValueError("holdout names every target family: nothing would be left to fit")
        train = prepare_system(problem.system.subset(~mask), problem.d, problem.index)
        return cls(train, problem.system.subset(mask))

    @classmethod
    def from_matrix(cls, A, b, design_weights=None, *, names=None, families=None, holdout=None, index=None):
        """A task from a targets x records matrix: fit every family but ``holdout``, score on ``holdout``.

        Parameters
        ----------
        A : scipy.sparse matrix, shape (m, n)
            Targets x records (never densified).
        b : array-like, shape (m,)
            Targets.
        design_weights : array-like, shape (n,), optional
            Ones when omitted.
        names, families : list, optional
            Target names and family labels (see :func:`reweightkit.prepare_matrix`).
        holdout : family label or list of them, optional
            Families held out for scoring.
        index : pandas.Index, optional
            Record labels.

        Returns
        -------
        CalibrationTask
        """
        full = prepare_matrix(A, b, design_weights, names=names, families=families, index=index)
        return cls.from_problem(full, holdout)


def family_holdout_tasks(problem, families=None):
    """One task per family, each holding that family out (leave-one-family-out).

    Parameters
    ----------
    problem : CalibrationProblem
        Every target, prepared.
    families : list, optional
        The families to hold out one at a time (default: every family, in order of appearance).

    Yields
    ------
    family : object
        The held-out family.
    task : CalibrationTask
        Train on the other families, score on this one.
    """
    if not isinstance(problem, CalibrationProblem):
        raise TypeError(f"problem must be a CalibrationProblem (see rk.prepare_matrix), got {type(problem).__name__}")
    fams = problem.system.families if problem.system.families is not None else problem.system.names
    for fam in (list(dict.fromkeys(fams)) if families is None else list(families)):
        yield fam, CalibrationTask.from_problem(problem, [fam])


def check_task(task):
    """``task`` if it is a :class:`CalibrationTask`, else a ``TypeError`` saying how to make one."""
    if not isinstance(task, CalibrationTask):
        raise TypeError(f"task must be a CalibrationTask (see rk.CalibrationTask.from_targets), got "
                        f"{type(task).__name__}")
    return task


