"""Where the local cluster's PostgreSQL keeps its files: in the cluster folder, or as root (the
server then runs as the unprivileged postgres user) in a folder of its own that the server can
reach whoever made the project folder, one per cluster, removed with the cluster's state."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tweetcare.cluster import postgres
from tweetcare.cluster.layout import Layout, Ports
from tweetcare.core.errors import UserError


@pytest.fixture
def server_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    base = tmp_path / "var-tmp"
    base.mkdir()
    monkeypatch.setattr(postgres, "SERVER_BASE", base)
    return base


def as_user(monkeypatch: pytest.MonkeyPatch, uid: int) -> None:
    monkeypatch.setattr(postgres.os, "geteuid", lambda: uid)


def test_an_unprivileged_user_keeps_the_files_in_the_cluster_folder(
    tmp_path: Path, server_base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_user(monkeypatch, 1000)
    root = tmp_path / "project" / ".tweetcare" / "cluster"
    assert postgres.server_home(root) == root / "postgres"


def test_as_root_each_cluster_gets_its_own_folder_outside_the_project(
    tmp_path: Path, server_base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_user(monkeypatch, 0)
    one = tmp_path / "one" / ".tweetcare" / "cluster"
    other = tmp_path / "other" / ".tweetcare" / "cluster"
    home = postgres.server_home(one)
    assert home.parent == server_base
    assert home.name.startswith(postgres.SERVER_PREFIX)
    assert postgres.server_home(one) == home  # the next `cluster start` finds its data again
    assert postgres.server_home(other) != home
    # the same folder named another way is the same cluster
    assert postgres.server_home(tmp_path / "one" / "x" / ".." / ".tweetcare" / "cluster") == home


def test_deleting_the_cluster_state_removes_the_folder_outside_the_project(
    tmp_path: Path, server_base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_user(monkeypatch, 0)
    root = tmp_path / "project" / ".tweetcare" / "cluster"
    home = postgres.server_home(root)
    (home / "data").mkdir(parents=True)
    (home / "data" / "PG_VERSION").write_text("16\n")
    postgres.delete(root)
    assert not home.exists()
    postgres.delete(root)  # nothing there: nothing to do


@pytest.mark.skipif(os.geteuid() != 0, reason="the shared folder is guarded only as root")
def test_as_root_a_planted_link_in_the_shared_folder_is_refused(
    tmp_path: Path, server_base: Path
) -> None:
    root = tmp_path / "project" / ".tweetcare" / "cluster"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    postgres.server_home(root).symlink_to(elsewhere)
    layout = Layout(root, Ports([1, 2, 3], [4, 5, 6], 7, 8, [9, 10], 11, 12, 13))
    with pytest.raises(UserError, match="not made by tweetcare"):
        postgres.start(layout)
    postgres.delete(root)  # the link goes, what it points at stays
    assert not postgres.server_home(root).is_symlink()
    assert elsewhere.is_dir()
