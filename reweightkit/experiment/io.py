"""Weights with their provenance: a weights file and a JSON sidecar that says how they were made."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import numpy as np
import pandas as pd

from .._version import __version__
from ..estimators.base import BaseCalibrator

__all__ = ["save_weights", "load_weights", "read_targets"]

def _jsonable(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (tuple, list)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return repr(v)


def save_weights(estimator, path, *, column="weight", extra=None):
    """Write a fitted estimator's weights, with their provenance, to CSV or Parquet.

    The weights file has the data's index and one weight column; a sidecar
    ``<path>.json`` records the method, its parameters (seed included), the kit
    version, the date, every train target's value, estimate and relative error, and
    the concentration (active records, Kish ESS, design effect, max weight, g range).

    Parameters
    ----------
    estimator : BaseCalibrator
        A fitted estimator.
    path : str or Path
        ``.csv`` or ``.parquet`` (Parquet needs pyarrow).
    column : str, default "weight"
        The weight column's name.
    extra : dict, optional
        More provenance to record (e.g. the data file's name).

    Returns
    -------
    Path
        The sidecar's path.
    """
    if not isinstance(estimator, BaseCalibrator) or not hasattr(estimator, "weights_"):
        raise TypeError("estimator must be a fitted reweightkit calibrator (call fit first)")
    path = Path(path)
    if path.suffix not in (".csv", ".parquet"):
        raise ValueError(f"path must end in .csv or .parquet, got {path.name!r}")
    frame = estimator.weights_series(column).to_frame()
    if path.suffix == ".parquet":
        try:
            frame.to_parquet(path)
        except ImportError as e:
            raise ImportError("writing Parquet needs pyarrow: pip install pyarrow, or use a .csv path") from e
    else:
        frame.to_csv(path, index_label=frame.index.name or "index")
    meta = {
        "method": type(estimator).__name__,
        "parameters": {k: _jsonable(v) for k, v in estimator.get_params().items()},
        "reweightkit_version": __version__,
        "written": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "weights_file": path.name,
        "weight_column": column,
        "n_records": int(len(frame)),
        "concentration": {k: _jsonable(getattr(estimator, k + "_", None)) for k in
                          ("n_active", "kish_ess", "design_effect", "max_weight", "g_min", "g_max", "exact",
                           "bounds_held", "max_train_error")},
        "targets": estimator.target_table().to_dict(orient="records"),
        **({"extra": {k: _jsonable(v) for k, v in extra.items()}} if extra else {}),
    }
    sidecar = path.with_name(path.name + ".json")
    sidecar.write_text(json.dumps(meta, indent=2))
    return sidecar


def load_weights(path):
    """Read weights written by :func:`save_weights`, with their provenance.

    Parameters
    ----------
    path : str or Path
        The weights file (its ``.json`` sidecar must be beside it).

    Returns
    -------
    weights : pandas.Series
        On the saved index.
    meta : dict
        The sidecar's content.
    """
    path = Path(path)
    sidecar = path.with_name(path.name + ".json")
    if not sidecar.exists():
        raise FileNotFoundError(f"no provenance file {sidecar.name} beside {path.name}")
    meta = json.loads(sidecar.read_text())
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, index_col=0)
    return frame[meta["weight_column"]], meta


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
    text = path.read_text()
    if path.suffix == ".json":
        spec = json.loads(text)
    elif path.suffix in (".yaml", ".yml"):
        try:
            import yaml  # noqa: PLC0415 - optional dependency, only for YAML target files
        except ImportError as e:
            raise ImportError("YAML target files need PyYAML: pip install pyyaml, or write the targets as JSON") from e
        spec = yaml.safe_load(text)
    else:
        raise ValueError(f"targets file must be .json, .yaml or .yml, got {path.name!r}")
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
        missing = [k for k in cats if str(k) not in by_text]
        if missing:
            raise ValueError(f"{path.name}: categories {missing[:10]} of column {col!r} are not in the data; "
                             f"values present: {sorted(by_text)[:20]}")
        marginal[col] = {by_text[str(k)]: v for k, v in cats.items()}
    continuous = dict(spec.get("continuous") or {})
    return marginal, continuous
