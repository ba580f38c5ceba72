"""DVC stage ``generate``: data/ as data.dvc records it, so ``git clone && dvc repro`` works.

A fresh clone has data.dvc but neither data/ nor a DVC cache (the data never goes to Git). The
embedded data is the seeded generator's sample (params.yaml ``generate``), byte for byte the
version data.dvc records, so where the folder is missing this stage writes it. A folder that
exists is never touched. Either way it must be the version data.dvc records, or the stage
fails naming the way out. dvc.yaml passes the recorded md5 on the command line (DVC takes no
.dvc file as a dependency, so a new version is a changed command), and the stages that read
data/ depend on this stage's receipt, which names that version: a new recorded version
(``dvc add data``) reruns them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import yaml
from rich.console import Console

from tweetcare.core.errors import UserError
from tweetcare.core.params import GenerateParams, load_params
from tweetcare.data.generator import write_dataset
from tweetcare.data.versioning import check_data_version

DVC_FILE = Path("data.dvc")
RECEIPT = Path("artifacts/data_version.json")
# what the receipt copies from data.dvc's entry: the version, not how it got here
RECORDED_FIELDS = ("path", "md5", "size", "nfiles")


def recorded_version(dvc_file: Path) -> dict[str, object]:
    """The entry `dvc_file` keeps for its one folder (path, md5, size, file count)."""
    if not dvc_file.is_file():
        raise UserError(f"{dvc_file} not found: run from the repository root")
    outs = (yaml.safe_load(dvc_file.read_text()) or {}).get("outs") or []
    if len(outs) != 1 or "path" not in outs[0]:
        raise UserError(f"{dvc_file} must record exactly one folder (`dvc add data`)")
    return {name: outs[0][name] for name in RECORDED_FIELDS if name in outs[0]}


def ensure_data(dvc_file: Path, expected_md5: str, generate: GenerateParams, receipt: Path) -> bool:
    """Write the embedded sample where the recorded folder is missing, check the folder against
    `dvc_file` (which must record `expected_md5`), and write `receipt`; True when the sample
    was generated."""
    version = recorded_version(dvc_file)
    if version.get("md5") != expected_md5:
        raise UserError(
            f"{dvc_file} records {version.get('md5')}, not {expected_md5}: rerun `dvc repro`"
        )
    folder = dvc_file.parent / str(version["path"])
    generated = not folder.exists()
    if generated:
        write_dataset(folder, rows=generate.rows, seed=generate.seed)
    try:
        check_data_version(dvc_file)
    except UserError as err:
        if not generated:
            raise
        shutil.rmtree(folder)  # not the recorded version: leave nothing for DVC to record
        raise UserError(
            f"{folder}/ is missing, and the generator ({generate.rows:,} rows, seed "
            f"{generate.seed}) does not make the version {dvc_file} records ({version['md5']}): "
            f"bring that one back with `dvc pull {dvc_file}`, or record the generated sample "
            f"with `tweetcare data generate && dvc add {folder.name}`"
        ) from err
    receipt.parent.mkdir(parents=True, exist_ok=True)
    receipt.write_text(json.dumps(version, indent=2) + "\n")
    return generated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-version", required=True, help=f"the md5 {DVC_FILE} records (dvc.yaml passes it)"
    )
    args = parser.parse_args()
    console = Console(stderr=True, soft_wrap=True)
    try:
        params = load_params()
        generated = ensure_data(DVC_FILE, args.data_version, params.generate, RECEIPT)
    except UserError as err:
        console.print(f"[bold red]generate failed:[/] {err}", highlight=False)
        sys.exit(1)
    how = "generated from the seed" if generated else "already there"
    console.print(f"[green]ok[/] the data is the version {DVC_FILE} records ({how})")


if __name__ == "__main__":
    main()
