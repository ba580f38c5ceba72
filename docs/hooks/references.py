"""MkDocs hook: adds the generated CLI and configuration references to the site.

They are built from the code at every `mkdocs build`, never written to docs/, so a stale
reference cannot be committed; `mkdocs build --strict` (in `make test`) fails on a broken link
to or from them.
"""

from __future__ import annotations

import warnings
from typing import Any

from cli_reference import render_cli_reference
from config_reference import render_config_reference
from mkdocs.structure.files import File, Files

GENERATED_PAGES = {
    "reference/cli.md": render_cli_reference,
    "reference/configuration.md": render_config_reference,
}


def on_files(files: Files, config: Any, **_: Any) -> Files:
    # rendering imports every CLI verb, and with them libraries that warn about their own
    # deprecated internals: noise that says nothing about the site
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for uri, render in GENERATED_PAGES.items():
            files.append(File.generated(config, uri, content=render()))
    return files
