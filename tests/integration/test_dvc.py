"""The real `dvc repro` of validate -> split -> featurize in a throwaway repo with tiny data, and
of generate -> validate in a fresh clone of this checkout (no data/, no DVC cache)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.fixtures.clone import fresh_clone
from tests.fixtures.twcs import labels_frame, twcs_frame, write_twcs

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("validate", "split", "featurize")
RECEIPT = "artifacts/data_version.json"
TINY_PROFILE = {"train": 120, "val": 40, "test": 40}


def run(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command with the venv's tools first on PATH (dvc.yaml calls plain `python`)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )
    return result


def make_project(tmp: Path, twcs: pd.DataFrame) -> Path:
    """A git + DVC repo holding the real dvc.yaml and stage code, a tiny profile and data/."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["split"]["profiles"]["tiny"] = TINY_PROFILE
    params["split"]["profile"] = "tiny"
    (tmp / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    ignore = shutil.ignore_patterns("__pycache__")
    for package in ("pipelines", "tweetcare"):
        shutil.copytree(ROOT / package, tmp / package, ignore=ignore)
    write_twcs(twcs, tmp / "data" / "twcs.csv")
    write_twcs(labels_frame(twcs), tmp / "data" / "labels.csv")
    run(["git", "init", "-q"], tmp)
    run(["dvc", "init", "-q"], tmp)
    run(["dvc", "config", "core.analytics", "false"], tmp)
    run(["dvc", "add", "-q", "data"], tmp)
    # after data.dvc exists: dvc.yaml reads its md5 (vars)
    shutil.copy(ROOT / "dvc.yaml", tmp / "dvc.yaml")
    return tmp


def test_repro_builds_splits_and_features_then_is_up_to_date(tmp_path: Path) -> None:
    project = make_project(tmp_path, twcs_frame(90))

    run(["dvc", "repro", *STAGES], project)

    summary = json.loads((project / "reports/validation/raw.json").read_text())
    assert summary["success"] is True
    assert (project / "reports/validation/data_docs/index.html").is_file()
    train = pd.read_parquet(project / "artifacts/features/train.parquet")
    assert {"conversation_id", "clean_text", "clean_text_raw", "category"} <= set(train.columns)
    sizes = {
        n: len(pd.read_parquet(project / f"artifacts/splits/{n}.parquet")) for n in TINY_PROFILE
    }
    # 210 tweets, 200 asked: whole threads (2-3 tweets) are sampled until the profile is filled
    assert 200 <= sum(sizes.values()) <= 202
    status = run(["dvc", "status", *STAGES], project)
    assert "up to date" in status.stdout

    # a featurize param reruns featurize only
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["train"]["mask_handles"] = False
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    changed = run(["dvc", "status", "--json", *STAGES], project)
    assert set(json.loads(changed.stdout)) == {"featurize"}


def test_broken_data_stops_repro_naming_the_expectation(tmp_path: Path) -> None:
    twcs = twcs_frame(40)
    twcs.loc[1, "tweet_id"] = twcs.loc[0, "tweet_id"]
    project = make_project(tmp_path, twcs)

    result = run(["dvc", "repro", *STAGES], project, check=False)

    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "expect_column_values_to_be_unique on column 'tweet_id'" in output
    assert "Traceback" not in output
    assert not (project / "artifacts/splits").exists()


def test_a_fresh_clone_repro_generates_the_recorded_data_then_validates(tmp_path: Path) -> None:
    """`git clone && dvc repro`: the generate stage writes the embedded sample, which is the
    version data.dvc records, and validate runs on it."""
    clone = fresh_clone(tmp_path)
    recorded = (clone / "data.dvc").read_text()
    assert not (clone / "data").exists()

    result = run(["dvc", "repro", "validate"], clone)

    assert "Running stage 'generate'" in result.stdout
    assert "Running stage 'validate'" in result.stdout
    assert (clone / "data.dvc").read_text() == recorded
    assert json.loads((clone / "reports/validation/raw.json").read_text())["success"] is True
    md5 = yaml.safe_load(recorded)["outs"][0]["md5"]
    assert json.loads((clone / RECEIPT).read_text())["md5"] == md5
    # the regenerated folder is the recorded version: DVC finds nothing changed
    assert run(["dvc", "status", "--json", "data.dvc", "generate"], clone).stdout.strip() == "{}"


def test_a_sample_that_is_not_the_recorded_version_is_refused_and_removed(
    tmp_path: Path,
) -> None:
    """Other generate params make other data: the stage names the way out and leaves no data/
    behind that DVC could record in place of the real version."""
    clone = fresh_clone(tmp_path)
    recorded = (clone / "data.dvc").read_text()
    params = yaml.safe_load((clone / "params.yaml").read_text())
    params["generate"]["rows"] = 50
    (clone / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    result = run(["dvc", "repro", "generate"], clone, check=False)

    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "does not make the version data.dvc records" in output
    assert "`dvc pull data.dvc`" in output
    assert "Traceback" not in output
    assert not (clone / "data").exists()
    assert (clone / "data.dvc").read_text() == recorded
