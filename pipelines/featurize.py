"""DVC stage ``featurize``: the cleaned text the models train on, with and without handle masks.

Both variants are kept so training can report how much the unmasked handles give the label away;
``clean_text`` is the same function the model server calls, so training and serving never skew.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.progress import track

from tweetcare.core.errors import UserError
from tweetcare.core.params import load_params
from tweetcare.core.text import clean_texts

SPLITS_DIR = Path("artifacts/splits")
OUT_DIR = Path("artifacts/features")


def featurize_frame(frame: pd.DataFrame, mask_handles: bool) -> pd.DataFrame:
    """``frame`` plus ``clean_text`` (masked as configured) and ``clean_text_raw`` (unmasked)."""
    texts = frame["text"].tolist()
    return frame.assign(
        clean_text=clean_texts(texts, mask_handles=mask_handles),
        clean_text_raw=clean_texts(texts, mask_handles=False),
    )


def featurize(splits_dir: Path, mask_handles: bool, out_dir: Path) -> dict[str, int]:
    """Featurize every parquet in ``splits_dir`` (the splits, and the agents' corrections when
    there are any); returns rows written per file stem."""
    files = sorted(splits_dir.glob("*.parquet"))
    if not files:
        raise UserError(f"no split parquet files in {splits_dir}: run `dvc repro split` first")
    out_dir.mkdir(parents=True, exist_ok=True)
    # features of a file the split no longer writes (corrections since withdrawn) would train on
    for stale in set(out_dir.glob("*.parquet")) - {out_dir / f.name for f in files}:
        stale.unlink()
    rows: dict[str, int] = {}
    for path in track(files, description="featurizing", console=Console(stderr=True)):
        frame = featurize_frame(pd.read_parquet(path), mask_handles)
        frame.to_parquet(out_dir / path.name, index=False)
        rows[path.stem] = len(frame)
    return rows


def main() -> None:
    console = Console(stderr=True, soft_wrap=True)
    try:
        params = load_params()
        rows = featurize(SPLITS_DIR, params.train.mask_handles, OUT_DIR)
    except UserError as err:
        console.print(f"[bold red]featurize failed:[/] {err}", highlight=False)
        sys.exit(1)
    console.print(f"[green]ok[/] featurized {rows}")


if __name__ == "__main__":
    main()
