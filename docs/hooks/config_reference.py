"""The configuration reference page, rendered from the pydantic models that read the settings.

Services read `TWEETCARE_*` environment variables through pydantic-settings classes; the
pipeline reads `params.yaml` through the `Params` models (and the `monitor:` block through
`MonitorParams`). Each key is listed with its type, default and the comment its field carries
in the code, so the page changes whenever a model does.
"""

from __future__ import annotations

import inspect
import json
import re
import types
import typing
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel
from pydantic.fields import FieldInfo

PARAMS_FILE = Path("params.yaml")
# a field at class-body level: `    name: annotation` (continuation lines are indented deeper)
_FIELD_LINE = re.compile(r"^    (\w+)\s*:")
_MISSING = object()
INTRO = (
    "Generated at `mkdocs build` time from the pydantic models that read the configuration, so "
    "it lists exactly what the code reads. Endpoints, ports, locations and secrets are "
    "environment variables, read by the services' settings classes; the pipeline's knobs are "
    "`params.yaml` (`dvc exp run -S key=value` changes one for an experiment), where a key no "
    "field reads is refused by name."
)
PARAMS_INTRO = (
    "`tweetcare.core.params.Params` reads the file and `tweetcare.monitoring.config."
    "MonitorParams` its `monitor:` block. A section keyed by names you choose (profiles, "
    "models, drift metrics) is listed once per name the file gives."
)


def _settings_classes() -> list[type[BaseModel]]:
    """Every settings class a service reads, in the order the page shows them."""
    from serving.config import AnalysisSettings, BatchingSettings
    from tweetcare.core.settings import Settings

    return [Settings, BatchingSettings, AnalysisSettings]


def field_comments(model: type[BaseModel]) -> dict[str, str]:
    """The comment block right above each field in the class's source; a field's own
    `description` wins over it. A block names only the field under it: where one comment heads
    a group, the fields after the first get none rather than a wrong one."""
    comments: dict[str, str] = {}
    for klass in reversed(model.__mro__):  # inherited fields keep their own class's comments
        if issubclass(klass, BaseModel) and not klass.__module__.startswith("pydantic"):
            comments.update(_comments_in_source(klass))
    for name, info in model.model_fields.items():
        if info.description:
            comments[name] = info.description
    return comments


def _comments_in_source(klass: type) -> dict[str, str]:
    comments: dict[str, str] = {}
    block: list[str] = []
    previous_was_comment = False
    for line in inspect.getsource(klass).splitlines()[1:]:
        stripped = line.strip()
        if stripped.startswith("#"):
            if not previous_was_comment:
                block = []
            block.append(stripped.lstrip("#").strip())
            previous_was_comment = True
            continue
        previous_was_comment = False
        if not stripped:
            block = []
        elif match := _FIELD_LINE.match(line):
            comments[match.group(1)] = " ".join(block)
            block = []
    return comments


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    text = repr(annotation).replace("typing.", "")
    return re.sub(r"\b(?:pathlib|datetime|pydantic\.types)\.", "", text)


def _value(value: Any) -> str:
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if seconds % size == 0 and seconds >= size:
                return f"{seconds // size}{unit}"
        return f"{seconds}s"
    if isinstance(value, Path):
        return str(value)
    if value == "":
        return '""'
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, (dict, list, bool)) or value is None:
        return json.dumps(value, default=str)
    return str(value)


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    if info.default_factory is not None:
        return _value(info.default_factory())  # type: ignore[call-arg]
    return _value(info.default)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _code(text: str) -> str:
    return f"`{_cell(text)}`" if text else ""


def _env_names(model: type[BaseModel], name: str, info: FieldInfo) -> list[str]:
    prefix = str(model.model_config.get("env_prefix", ""))
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(c) for c in alias.choices if isinstance(c, str) and c.isupper()]
    return [f"{prefix}{name}".upper()]


def render_settings(model: type[BaseModel]) -> str:
    """One table of a settings class: variable, type, default, what it is for."""
    comments = field_comments(model)
    doc = inspect.cleandoc(model.__dict__.get("__doc__") or "")  # its own, not inherited
    lines = [f"### `{model.__module__}.{model.__name__}`", "", doc, ""]
    lines += ["| variable | type | default | what |", "| --- | --- | --- | --- |"]
    for name, info in model.model_fields.items():
        variables = " or ".join(f"`{v}`" for v in _env_names(model, name, info))
        default = "(secret)" if info.repr is False else _code(_default(info))
        lines.append(
            f"| {variables} | {_code(_type_name(info.annotation))} | {default} "
            f"| {_cell(comments.get(name, ''))} |"
        )
    return "\n".join([*lines, ""])


def _nested_model(annotation: Any) -> tuple[bool, type[BaseModel]] | None:
    """(keyed by name?, model) for a nested section: a model, an optional model, or a dict of
    models under names the user chooses; None for a plain value."""
    args = typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return False, annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        return (False, models[0]) if len(models) == 1 else None
    if typing.get_origin(annotation) is dict and len(args) == 2:
        value = args[1]
        if isinstance(value, type) and issubclass(value, BaseModel):
            return True, value
    return None


def param_rows(
    model: type[BaseModel], prefix: str, current: Any, overrides: dict[str, type[BaseModel]]
) -> Iterator[str]:
    """Table rows for every key under `prefix`, nested sections flattened to dotted keys."""
    comments = field_comments(model)
    for name, info in model.model_fields.items():
        key = f"{prefix}{info.alias or name}"
        here = current.get(info.alias or name, _MISSING) if isinstance(current, dict) else _MISSING
        nested = (False, overrides[key]) if key in overrides else _nested_model(info.annotation)
        if nested is not None:
            keyed_by_name, child = nested
            if not keyed_by_name:
                yield from param_rows(child, f"{key}.", here, overrides)
                continue
            # a dict of sections: one set of rows per name params.yaml gives, else `<name>`
            named = here if isinstance(here, dict) and here else {"<name>": _MISSING}
            for item, inner in named.items():
                yield from param_rows(child, f"{key}.{item}.", inner, overrides)
            continue
        in_file = "" if here is _MISSING else _code(_value(here))
        yield (
            f"| `{key}` | {_code(_type_name(info.annotation))} | {_code(_default(info))} "
            f"| {in_file} | {_cell(comments.get(name, ''))} |"
        )


def render_params() -> str:
    """Every key of params.yaml, with its default in the code and its value in the file."""
    import yaml

    from tweetcare.core.params import Params
    from tweetcare.monitoring.config import MonitorParams

    current = yaml.safe_load(PARAMS_FILE.read_text()) if PARAMS_FILE.is_file() else {}
    lines = [
        "| key | type | default in the code | in params.yaml | what |",
        "| --- | --- | --- | --- | --- |",
        *param_rows(Params, "", current, {"monitor": MonitorParams}),
    ]
    return "\n".join([*lines, ""])


def render_config_reference() -> str:
    """The whole page: the services' settings, then the pipeline's params.yaml."""
    parts = [
        "# Configuration reference",
        "",
        INTRO,
        "",
        "## Services: environment variables",
        "",
        *(render_settings(model) for model in _settings_classes()),
        "## Pipeline: params.yaml",
        "",
        PARAMS_INTRO,
        "",
        render_params(),
    ]
    return "\n".join(parts)
