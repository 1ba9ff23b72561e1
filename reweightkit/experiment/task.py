"""What a comparison fits and scores: the train problem prepared once, the held-out targets built once.

A :class:`CalibrationTask` holds both; :func:`family_holdout_tasks` makes one per held-out
group of target families.  Targets nest within families (district counts sum to state
counts), so whole families are held out, and across families: a held-out family that
training families reveal (:func:`reweightkit.problem.family_nesting`) is held out
together with them (its *closure*), or refused, never scored as if it were unseen.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..exceptions import LeakWarning
from ..problem.frame import build_system, prepare
from ..problem.nesting import FamilyNesting, family_nesting, nesting_closure
from ..problem.scoring import Scorer
from ..problem.system import CalibrationProblem, CalibrationSystem, prepare_matrix, prepare_system

__all__ = ["CalibrationTask", "family_holdout_tasks", "group_label", "check_task"]


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
    def from_problem(cls, problem, holdout=None, *, nesting="raise", tree=None):
        """Hold out whole target families of a prepared problem: fit the others, score on them.

        Targets nest within families (district counts sum to state counts), so a random
        split of target rows leaks; holding out whole families does not, unless another
        family reveals a held-out one (state SNAP households are the sum of district SNAP
        households).  The families that do are found by
        :func:`reweightkit.problem.family_nesting` (or read from ``tree``) and handled as
        ``nesting`` says.  The train problem is re-prepared from the remaining rows only
        (its start point included), so no held-out target reaches a fit.

        Parameters
        ----------
        problem : CalibrationProblem
            Every target (:func:`reweightkit.prepare` or :func:`reweightkit.prepare_matrix`).
        holdout : family label or list of them, optional
            The families held out (``problem.system.families``); none when omitted.
        nesting : {"raise", "closure", "warn", "ignore"}, default "raise"
            When training families reveal a held-out one: a ``ValueError`` naming them,
            hold them out too (the closure: :attr:`held_out` lists it), a
            :class:`~reweightkit.LeakWarning`, or no test at all.
        tree : FamilyNesting or dict, optional
            ``family -> families revealing it`` (e.g. :attr:`reweightkit.NationBenchmark.family_tree`,
            or a :class:`~reweightkit.problem.FamilyNesting` computed once); tested on the
            matrix when omitted.

        Returns
        -------
        CalibrationTask
        """
        if not isinstance(problem, CalibrationProblem):
            raise TypeError(f"problem must be a CalibrationProblem (see rk.prepare_matrix), got {type(problem).__name__}")
        if nesting not in ("raise", "closure", "warn", "ignore"):
            raise ValueError(f"nesting must be 'raise', 'closure', 'warn' or 'ignore', got {nesting!r}")
        holdout = _family_list(holdout)
        if not holdout:
            return cls(problem, None)
        problem.system.family_rows(holdout)  # every named family exists
        if nesting != "ignore":
            if tree is None:
                tree = family_nesting(problem, families=holdout)
            closed = nesting_closure(holdout, tree)
            extra = closed[len(holdout):]
            if extra:
                why = "; ".join(_reveal_line(f, tree) for f in holdout if _revealers(f, tree))
                msg = (f"holding out {holdout} leaks: training families {extra} reveal it ({why}); any weights that "
                       "meet them score the held-out targets well whatever records they keep")
                if nesting == "raise":
                    raise ValueError(msg + "; hold them out too (nesting='closure') or accept the leak "
                                     "(nesting='warn' or 'ignore')")
                if nesting == "warn":
                    warnings.warn(msg, LeakWarning, stacklevel=2)
                else:
                    holdout = closed
        mask = problem.system.family_rows(holdout)
        if mask.all():
            raise ValueError("holdout names every target family: nothing would be left to fit")
        train = prepare_system(problem.system.subset(~mask), problem.d, problem.index)
        return cls(train, problem.system.subset(mask))

    @property
    def held_out(self) -> list:
        """The families of the held-out targets, in order (empty without held-out targets)."""
        if self.test is None:
            return []
        return list(dict.fromkeys(self.test.families if self.test.families is not None else self.test.names))

    @classmethod
    def from_matrix(cls, A, b, design_weights=None, *, names=None, families=None, holdout=None, index=None,
                    nesting="raise"):
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
        nesting : {"raise", "closure", "warn", "ignore"}, default "raise"
            When training families reveal a held-out one (see :meth:`from_problem`).

        Returns
        -------
        CalibrationTask
        """
        full = prepare_matrix(A, b, design_weights, names=names, families=families, index=index)
        return cls.from_problem(full, holdout, nesting=nesting)


def _family_list(holdout):
    if holdout is None:
        return []
    if isinstance(holdout, (str, bytes)) or not isinstance(holdout, Iterable):
        return [holdout]  # one family label (text or a number)
    return list(dict.fromkeys(holdout))


def _revealers(family, tree):
    return tree.revealers(family) if isinstance(tree, FamilyNesting) else list(tree.get(family, ()))


def _reveal_line(family, tree):
    if isinstance(tree, FamilyNesting):
        return tree.describe(family)
    return f"{family}: by {', '.join(map(str, _revealers(family, tree)))}"


def group_label(families) -> str:
    """The ``holdout`` label of a group of families: their names joined by ``+``.

    Parameters
    ----------
    families : list
        Family labels.

    Returns
    -------
    str
    """
    return "+".join(map(str, families))


def family_holdout_tasks(problem, families=None, *, nesting="closure", tree=None):
    """One task per held-out family or group of families (leave-one-group-out), none of which leaks.

    Parameters
    ----------
    problem : CalibrationProblem
        Every target, prepared.
    families : list, optional
        What to hold out, one task each: a family label, or a list of them held out together
        (default: every family, in order of appearance).
    nesting : {"closure", "raise", "warn", "ignore"}, default "closure"
        When training families reveal a held-out one (:meth:`CalibrationTask.from_problem`):
        by default each group is extended by the families revealing it, and groups that
        become the same are run once.
    tree : FamilyNesting or dict, optional
        ``family -> families revealing it``; tested once on the matrix when omitted.

    Yields
    ------
    holdout : str
        The held-out families joined by ``+`` (:func:`group_label`; the closure included).
    task : CalibrationTask
        Train on the other families, score on these.
    """
    if not isinstance(problem, CalibrationProblem):
        raise TypeError(f"problem must be a CalibrationProblem (see rk.prepare_matrix), got {type(problem).__name__}")
    fams = problem.system.families if problem.system.families is not None else problem.system.names
    groups = [[f] for f in dict.fromkeys(fams)] if families is None else \
        [_family_list(g) if isinstance(g, (list, tuple, set, frozenset)) else [g] for g in families]
    for g in groups:
        problem.system.family_rows(g)  # every named family exists, before any work
    if nesting != "ignore" and tree is None:
        tree = family_nesting(problem, families=list(dict.fromkeys(f for g in groups for f in g)))
    seen = set()
    for g in groups:
        held = nesting_closure(g, tree) if nesting == "closure" else g
        if frozenset(held) in seen:
            continue
        seen.add(frozenset(held))
        yield group_label(held), CalibrationTask.from_problem(problem, held, nesting=nesting, tree=tree)


def check_task(task):
    """``task`` if it is a :class:`CalibrationTask`, else a ``TypeError`` saying how to make one."""
    if not isinstance(task, CalibrationTask):
        raise TypeError(f"task must be a CalibrationTask (see rk.CalibrationTask.from_targets), got "
                        f"{type(task).__name__}")
    return task


