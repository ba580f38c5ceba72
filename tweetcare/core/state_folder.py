"""One folder for a run's local state: its runtime files, its lake and its ticket store.

The demo keeps everything it makes in such a folder, and `tweetcare --state-dir FOLDER ...`
points any later command at it, so using the demo's state needs no environment variables.
"""

from __future__ import annotations

from pathlib import Path

from tweetcare.core.settings import Settings

LAKE_SUBDIR = "lake"
TICKETS_DB_NAME = "tickets.db"


def settings_in(settings: Settings, state_dir: Path) -> Settings:
    """The settings with the local state moved into `state_dir`; a ticket store or lake
    configured elsewhere (Postgres, s3a://) stays where it is."""
    update: dict[str, object] = {"state_dir": state_dir, "lake_dir": state_dir / LAKE_SUBDIR}
    if settings.tickets_db_url == Settings.model_fields["tickets_db_url"].default:
        update["tickets_db_url"] = f"sqlite:///{state_dir / TICKETS_DB_NAME}"
    return settings.model_copy(update=update)


def state_folder_env(settings: Settings, state_dir: Path) -> dict[str, str]:
    """The TWEETCARE_* variables that `settings_in` changes, for this process and its children
    (every command reads its settings afresh from the environment)."""
    moved = settings_in(settings, state_dir)
    prefix = str(Settings.model_config.get("env_prefix", ""))
    return {
        f"{prefix}{name}".upper(): str(getattr(moved, name))
        for name in ("state_dir", "lake_dir", "tickets_db_url")
    }
