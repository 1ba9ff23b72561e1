"""The README runs as written: its Python snippets execute in order, its commands parse and run."""

import re
import shlex
import warnings
from pathlib import Path

import matplotlib
import pytest

from reweightkit import cli

matplotlib.use("Agg")
README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README, re.S)


def test_the_python_snippets_run_in_order():
    namespace = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the snippets show fits; their warnings are the kit's, tested elsewhere
        for i, code in enumerate(_blocks("python")):
            try:
                exec(compile(code, f"README.md python block {i}", "exec"), namespace)  # noqa: S102
            except Exception as e:  # pragma: no cover - the failure message names the block
                raise AssertionError(f"README python block {i} failed: {type(e).__name__}: {e}\n{code}") from e


def test_the_calibrate_commands_run_on_the_readmes_targets_file(tmp_path, monkeypatch):
    import json

    import reweightkit as rk

    spec = json.loads(_blocks("json")[0])
    df, _, _, _ = rk.superpopulation(seed=0)
    # a people.csv with the README's columns: region, age_group, income, weight
    assert {"region", "age_group", "income", "weight"} <= set(df.columns)
    df.to_csv(tmp_path / "people.csv", index=False)
    (tmp_path / "targets.json").write_text(json.dumps(spec))
    monkeypatch.chdir(tmp_path)
    commands = [line for block in _blocks("bash") for line in block.splitlines()
                if line.startswith("reweightkit calibrate")]
    assert len(commands) >= 3
    for line in commands:
        argv = shlex.split(line)[1:]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert cli.main(argv) == 0, line
        out = Path(argv[argv.index("--out") + 1])
        assert out.exists() and Path(str(out) + ".json").exists(), line


def test_the_version_command():
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0
