"""Weights with their provenance: a weights file and a JSON sidecar that says how they were made."""

from __future__ import annotations

import datetime
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
from pathlib import Path

import numpy as np
import pandas as pd

from .._version import __version__
from ..estimators.base import BaseCalibrator

__all__ = ["save_weights", "load_weights", "read_targets", "check_output_path"]

def _jsonable(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (tuple, list)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray):  # a per-record parameter (gate_cost): small ones in full, large ones identified
        if v.size <= 1000:
            return _jsonable(v.tolist())
        a = np.ascontiguousarray(v, dtype=float)
        return {"array_sha256": hashlib.sha256(a.tobytes()).hexdigest(), "shape": list(a.shape),
                "min": float(a.min()), "max": float(a.max()), "mean": float(a.mean())}
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return repr(v)


def _versions() -> dict:
    """The versions of the kit and of the libraries its solvers run on (those installed)."""
    out = {"reweightkit": __version__, "python": platform.python_version()}
    for dist in ("numpy", "scipy", "pandas", "torch", "l0-python"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def _file_labels(index, column):
    """The column labels the index levels get in the file: their names where unique, else ``index_<i>``."""
    names = list(index.names)
    labels = []
    for i, name in enumerate(names):
        ok = isinstance(name, str) and name and name != column and names.count(name) == 1
        labels.append(name if ok else f"index_{i}")
    return labels


def check_output_path(path):
    """Check a weights file path before any fit: its format, its folder, and the format's engine.

    Parameters
    ----------
    path : str or Path
        ``.csv`` or ``.parquet``.

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        A wrong suffix, a folder, a missing or unwritable parent folder.
    ImportError
        ``.parquet`` without pyarrow (with the install line).
    """
    path = Path(path)
    if path.suffix not in (".csv", ".parquet"):
        raise ValueError(f"the weights file must end in .csv or .parquet, got {path.name!r}")
    if path.is_dir():
        raise ValueError(f"{str(path)!r} is a folder; give a file name such as weights.csv")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"the folder {str(parent)!r} of {path.name!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise ValueError(f"the folder {str(parent)!r} is not writable")
    if path.suffix == ".parquet" and importlib.util.find_spec("pyarrow") is None:
        raise ImportError("writing Parquet needs pyarrow: pip install pyarrow (or 'reweightkit[parquet]'), "
                          "or write a .csv file")
    return path


def save_weights(estimator, path, *, column="weight", extra=None):
    """Write a fitted estimator's weights, with their provenance, to CSV or Parquet.

    The weights file holds the data's index (every level, its values as they are:
    ``"007"`` stays a string) and one weight column; a sidecar ``<path>.json`` records
    the method, its parameters (seed included), the penalty or budget it chose, the
    design-weight column, what ``g = w / base`` is taken against, the versions of the
    kit and of its solvers' libraries, the date, every train target's value, estimate
    and relative error, the concentration (active records, Kish ESS, design effect, max
    weight, g range) and how to read the index back.  :func:`load_weights` restores the
    index exactly (names, levels, dtypes).

    Parameters
    ----------
    estimator : BaseCalibrator
        A fitted estimator.
    path : str or Path
        ``.csv`` or ``.parquet`` (Parquet needs pyarrow).
    column : str, default "weight"
        The weight column's name.
    extra : dict, optional
        More provenance to record (e.g. the data file's name and sha256).

    Returns
    -------
    Path
        The sidecar's path.
    """
    if not isinstance(estimator, BaseCalibrator) or not hasattr(estimator, "weights_"):
        raise TypeError("estimator must be a fitted reweightkit calibrator (call fit first)")
    path = check_output_path(path)
    weights = estimator.weights_series(column)
    index = weights.index
    labels = _file_labels(index, column)
    table = pd.DataFrame({lab: index.get_level_values(i) for i, lab in enumerate(labels)})
    table[column] = weights.to_numpy()
    if path.suffix == ".parquet":
        table.to_parquet(path, index=False)
    else:
        table.to_csv(path, index=False)
    chosen = {k: _jsonable(getattr(estimator, k + "_")) for k in ("lambda", "alpha", "lambda_l0")
              if hasattr(estimator, k + "_")}
    chosen.update({k: _jsonable(getattr(estimator, k)) for k in ("n_records", "seed", "alpha")
                   if getattr(estimator, k, None) is not None and k not in chosen})
    if hasattr(estimator, "n_threads_"):  # Hard Concrete's weights depend on the thread count: what reproduces them
        chosen["n_threads"] = int(estimator.n_threads_)
    meta = {
        "method": type(estimator).__name__,
        "parameters": {k: _jsonable(v) for k, v in estimator.get_params().items()},
        "chosen": chosen,
        "design_weight_column": _jsonable(getattr(estimator, "weight_col_", None)),
        "g_base": estimator._g_base,
        "versions": _versions(),
        "reweightkit_version": __version__,
        "written": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "weights_file": path.name,
        "weight_column": column,
        "index": {"columns": labels, "names": [_jsonable(n) for n in index.names],
                  "dtypes": [str(index.get_level_values(i).dtype) for i in range(index.nlevels)]},
        "n_records": int(len(weights)),
        "concentration": {k: _jsonable(getattr(estimator, k + "_", None)) for k in
                          ("n_active", "kish_ess", "design_effect", "max_weight", "g_min", "g_max", "exact",
                           "bounds_held", "converged", "max_train_error")},
        "targets": estimator.target_table().to_dict(orient="records"),
        **({"extra": {k: _jsonable(v) for k, v in extra.items()}} if extra else {}),
    }
    sidecar = path.with_name(path.name + ".json")
    sidecar.write_text(json.dumps(meta, indent=2))
    return sidecar


def _restore_level(values, dtype):
    """A CSV column read as text, back to the dtype it was saved with."""
    if dtype in ("object", "string", "str"):
        return values.astype(object)
    if dtype == "bool":
        return values.map({"True": True, "False": False})
    if dtype.startswith("datetime64"):
        return pd.to_datetime(values)
    if dtype == "category":
        return values.astype("category")
    return values.astype(dtype)


def load_weights(path):
    """Read weights written by :func:`save_weights`, with their provenance.

    Parameters
    ----------
    path : str or Path
        The weights file (its ``.json`` sidecar must be beside it).

    Returns
    -------
    weights : pandas.Series
        On the saved index, restored exactly (names, levels, dtypes).
    meta : dict
        The sidecar's content.
    """
    path = Path(path)
    sidecar = path.with_name(path.name + ".json")
    if not sidecar.exists():
        raise FileNotFoundError(f"no provenance file {sidecar.name} beside {path.name}")
    meta = json.loads(sidecar.read_text())
    spec = meta.get("index") or {"columns": None}
    column = meta["weight_column"]
    if spec["columns"] is None:  # written before 0.3: the index in the first column
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, index_col=0)
        return frame[column], meta
    labels = spec["columns"]
    if path.suffix == ".parquet":
        table = pd.read_parquet(path)
        levels = [table[lab] for lab in labels]
    else:
        table = pd.read_csv(path, dtype={lab: str for lab in labels}, keep_default_na=False)
        levels = [_restore_level(table[lab], dt) for lab, dt in zip(labels, spec["dtypes"])]
    names = spec["names"]
    index = pd.MultiIndex.from_arrays(levels, names=names) if len(levels) > 1 else \
        pd.Index(pd.Series(levels[0]).to_numpy(), name=names[0])
    return pd.Series(table[column].to_numpy(dtype=float), index=index, name=column), meta


def read_targets(path, df):
    """Targets from a JSON or YAML file, with category keys matched to the data's values.

    The file holds ``{"marginal": {column: {category: count}}, "continuous": {column: total}}``
    (either part may be omitted).  Keys in a text file are text: each category key is
    matched to the value of ``df[column]`` whose text is the same (``"True"`` to ``True``,
    ``"3"`` to ``3``), and a key that matches none is an error naming the column and
    the values present.

    Parameters
    ----------
    path : str or Path
        ``.json``, ``.yaml`` or ``.yml``.
    df : DataFrame
        The data the targets are for.

    Returns
    -------
    marginal_targets, continuous_targets : dict
    """
    path = Path(path)
    if path.suffix not in (".json", ".yaml", ".yml"):
        raise ValueError(f"targets file must be .json, .yaml or .yml, got {path.name!r}")
    try:
        text = path.read_text()
    except OSError as e:
        raise ValueError(f"cannot read the targets file {str(path)!r}: {e.strerror or e}") from None
    if path.suffix == ".json":
        try:
            spec = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path.name}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    else:
        try:
            import yaml  # noqa: PLC0415 - optional dependency, only for YAML target files
        except ImportError as e:
            raise ImportError("YAML target files need PyYAML: pip install pyyaml, or write the targets as JSON") from e
        try:
            spec = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ValueError(f"{path.name}: not valid YAML ({e})") from None
    if not isinstance(spec, dict) or not set(spec) <= {"marginal", "continuous"} or not spec:
        raise ValueError(f"{path.name}: expected an object with 'marginal' and/or 'continuous', got "
                         f"{sorted(spec) if isinstance(spec, dict) else type(spec).__name__}")
    marginal = {}
    for col, cats in (spec.get("marginal") or {}).items():
        if col not in df.columns:
            raise ValueError(f"{path.name}: marginal column {col!r} is not in the data; columns: {list(df.columns)}")
        if not isinstance(cats, dict):
            raise ValueError(f"{path.name}: marginal targets of {col!r} must be an object {{category: count}}")
        by_text = {str(v): v for v in df[col].dropna().unique()}
        seen = {}
        for k in cats:  # YAML reads 1 and '1' as two keys; both name the same category
            if str(k) in seen:
                raise ValueError(f"{path.name}: marginal targets of {col!r} give category {str(k)!r} twice "
                                 f"(keys {seen[str(k)]!r} and {k!r}); give each category once")
            seen[str(k)] = k
        missing = [k for k in cats if str(k) not in by_text]
        if missing:
            raise ValueError(f"{path.name}: categories {missing[:10]} of column {col!r} are not in the data; "
                             f"values present: {sorted(by_text)[:20]}")
        marginal[col] = {by_text[str(k)]: v for k, v in cats.items()}
    continuous = dict(spec.get("continuous") or {})
    return marginal, continuous
