"""Loading an analysis YAML: safe parsing, ``include:`` blocks from ``configs/``, ``--set``
overrides, and validation errors rendered as one line ``FILE: dotted.path: message`` (an unknown
key with a "did you mean" when one of the allowed keys is close)."""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from lhcad.config.base import AnalysisBase
from lhcad.errors import ConfigError

INCLUDE_KEY = "include"


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``dotted.key=VALUE`` and parse VALUE as a YAML scalar or list.

    >>> parse_override("select.top_n=[500, 1000]")
    ('select.top_n', [500, 1000])
    """
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ConfigError(f"--set {text!r}: expected dotted.key=VALUE")
    try:
        parsed = yaml.safe_load(value) if value.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {key}: value {value!r} is not valid YAML ({exc})") from None
    return key, parsed


def read_yaml(path: Path) -> Any:
    """Parse a YAML file with ``yaml.safe_load``; errors name the file and the line."""
    if not path.exists():
        raise ConfigError("file not found", source=path)
    if path.is_dir():
        raise ConfigError("is a directory, expected a YAML file", source=path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read ({exc})", source=path) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"YAML syntax error: {problem}", source=path, where=where) from None


#: Where a wheel install keeps the ``configs/`` directory (pyproject.toml's force-include).
PACKAGED_CONFIGS = Path(__file__).resolve().parents[1] / "_configs"
#: The checkout's ``configs/`` (a source tree or an editable install).
CHECKOUT_CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def shipped_configs() -> list[Path]:
    """The ``configs/`` lhcad ships: inside the installed package (``lhcad/_configs``), else
    the checkout's."""
    return [d for d in (PACKAGED_CONFIGS, CHECKOUT_CONFIGS) if d.is_dir()][:1]


def include_search_path(analysis_path: Path) -> list[Path]:
    """Directories searched for ``include:`` files, in order: the analysis's own directory and
    every ``configs/`` from there upwards; the current directory and its ``configs/``; then the
    ``configs/`` shipped with lhcad (:func:`shipped_configs`), so that an analysis copied out of
    the checkout still finds ``analyses/lhco_study.yaml``, ``models/vae_default.yaml``..."""
    here = analysis_path.resolve().parent
    dirs = [here]
    for parent in [here, *here.parents]:
        if (parent / "configs").is_dir():
            dirs.append(parent / "configs")
    cwd = Path.cwd().resolve()
    dirs += [cwd, cwd / "configs"] if (cwd / "configs").is_dir() else [cwd]
    dirs += shipped_configs()
    return list(dict.fromkeys(dirs))


def _find_include(name: str, search: Iterable[Path], source: Path, where: str) -> Path:
    for directory in search:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"include {name!r} not found (searched the analysis's directory, the configs/ above it, the "
        "current directory and lhcad's shipped configs/)",
        source=source,
        where=where,
    )


def deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``top`` over ``base``: mappings merge key by key, anything else is replaced."""
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def resolve_includes(
    node: Any, search: list[Path], source: Path, where: str = "", seen: tuple[Path, ...] = ()
) -> Any:
    """Replace every mapping's ``include: FILE`` (or a list of files) by the file's content with
    the mapping's other keys merged on top; includes may nest."""
    if isinstance(node, list):
        return [resolve_includes(v, search, source, f"{where}[{i}]", seen) for i, v in enumerate(node)]
    if not isinstance(node, Mapping):
        return node
    here = {k: v for k, v in node.items() if k != INCLUDE_KEY}
    merged: dict[str, Any] = {}
    names = node.get(INCLUDE_KEY)
    if names is not None:
        dotted = f"{where}.{INCLUDE_KEY}".lstrip(".")
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ConfigError("include must be a file name or a list of them", source=source, where=dotted)
        for name in names:
            path = _find_include(name, search, source, dotted)
            if path.resolve() in seen:
                raise ConfigError(f"include cycle through {path}", source=source, where=dotted)
            block = read_yaml(path)
            if not isinstance(block, Mapping):
                raise ConfigError("an included block must be a mapping", source=path)
            block = resolve_includes(block, search, path, "", (*seen, path.resolve()))
            merged = deep_merge(merged, block)
    resolved = {k: resolve_includes(v, search, source, f"{where}.{k}".lstrip("."), seen) for k, v in here.items()}
    return deep_merge(merged, resolved)


def apply_overrides(raw: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Set dotted keys in the raw config (``--set``), creating intermediate mappings."""
    result = copy.deepcopy(raw)
    for dotted, value in overrides.items():
        node = result
        parts = dotted.split(".")
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                prefix = ".".join(parts[: i + 1])
                raise ConfigError(f"--set {dotted}: {prefix} is not a section")
            node = child
        node[parts[-1]] = value
    return result


def _model_at(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that owns the last key of ``loc`` (for 'allowed keys' hints)."""
    model: Any = root
    for part in loc[:-1]:
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(str(part))
        if field is None:
            continue  # a free dict key or list index: the value's model is already current
        model = _unwrap_model(field.annotation)
        if model is None:
            return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _unwrap_model(arg)
        if found is not None:
            return found
    return None


def _dotted(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out.lstrip(".")


def format_validation_error(
    exc: ValidationError, root: type[BaseModel], overridden: Iterable[str] = ()
) -> tuple[str, str]:
    """Turn pydantic's first error in validating ``root`` into (dotted path, message), with a
    hint of allowed keys."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = tuple(p for p in first["loc"] if p not in ("function-after",))
    where = _dotted(loc) or "(top level)"
    if first["type"] == "extra_forbidden":
        owner = _model_at(root, loc)
        allowed = list(owner.model_fields) if owner is not None else []
        message = f"unknown key {loc[-1]!r}"
        if allowed:
            message += f" (allowed: {', '.join(allowed)})"
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.75)
        if close:
            message += f"; did you mean {_dotted((*loc[:-1], close[0]))}?"
    else:
        message = first["msg"]
        message = message.removeprefix("Value error, ")
        if "input" in first and first["type"] not in ("missing",) and not isinstance(first["input"], dict):
            message += f" (got {first['input']!r})"
    if any(where == k or where.startswith(k + ".") for k in overridden):
        message += " (from --set)"
    if len(errors) > 1:
        message += f" (+{len(errors) - 1} more)"
    return where, message


def load_raw(path: Path) -> dict[str, Any]:
    """Read an analysis YAML and resolve its includes into one plain mapping."""
    raw = read_yaml(path)
    if raw is None or raw == {}:
        raise ConfigError(
            "the analysis is empty (no sections, only comments or null): nothing to run; start from "
            "one of lhcad's analyses/*.yaml",
            source=path,
        )
    if not isinstance(raw, Mapping):
        raise ConfigError("an analysis must be a YAML mapping of sections", source=path)
    return resolve_includes(raw, include_search_path(path), path)


def validate_raw(
    raw: Mapping[str, Any], model: type[AnalysisBase], source: Path | str, overridden: Iterable[str] = ()
) -> AnalysisBase:
    """Validate a raw mapping into an analysis ``model`` (one family's) or raise one-line
    :class:`ConfigError`."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        where, message = format_validation_error(exc, model, list(overridden))
        raise ConfigError(message, source=source, where=where) from None
