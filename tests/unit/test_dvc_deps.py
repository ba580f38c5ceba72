"""Each `dvc.yaml` stage depends on exactly the project code its command imports.

A module a stage imports but does not list is a change `dvc repro` would miss (stale models);
a listed file the stage no longer imports reruns the stage for nothing. The import graph
(grimp, which import-linter uses too) is the truth both lists are checked against.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import grimp
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("pipelines", "training", "tweetcare", "serving", "streaming")
STAGES: dict[str, dict] = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
MODULE_PREFIX = "python -m "


@cache
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def module_file(module: str) -> Path:
    path = ROOT / Path(*module.split("."))
    return (path / "__init__.py") if path.is_dir() else path.with_suffix(".py")


def has_code(path: Path) -> bool:
    """An `__init__.py` holding only a docstring changes nothing a stage computes."""
    body = ast.parse(path.read_text()).body
    return any(
        not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)) for node in body
    )


def imported_files(stage: dict) -> set[Path]:
    module = stage["cmd"].removeprefix(MODULE_PREFIX).split()[0]
    modules = {module, *graph().find_upstream_modules(module)}
    files = {module_file(m).relative_to(ROOT) for m in modules}
    return {f for f in files if has_code(ROOT / f)}


def code_deps(stage: dict) -> set[Path]:
    """The stage's deps that are project code: .py files and package folders."""
    deps = {Path(d) for d in stage.get("deps", [])}
    return {d for d in deps if d.parts[0] in PACKAGES}


def covered(file: Path, deps: set[Path]) -> bool:
    return any(file == dep or dep in file.parents for dep in deps)


CODE_STAGES = [name for name, stage in STAGES.items() if stage["cmd"].startswith(MODULE_PREFIX)]


def test_every_pipeline_stage_is_checked() -> None:
    assert set(CODE_STAGES) == set(STAGES)


@pytest.mark.parametrize("name", CODE_STAGES)
def test_a_stage_depends_on_all_the_code_it_imports(name: str) -> None:
    deps = code_deps(STAGES[name])
    missing = sorted(str(f) for f in imported_files(STAGES[name]) if not covered(f, deps))
    assert missing == [], f"add to stage {name}'s deps in dvc.yaml"


@pytest.mark.parametrize("name", CODE_STAGES)
def test_a_stage_depends_on_no_code_it_does_not_import(name: str) -> None:
    imported = imported_files(STAGES[name])
    unused = sorted(
        str(d) for d in code_deps(STAGES[name]) if not any(covered(f, {d}) for f in imported)
    )
    assert unused == [], f"remove from stage {name}'s deps in dvc.yaml"
