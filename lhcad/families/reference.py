"""The YAML reference (every key, type, default and docstring), generated from the config models
of every family: first the keys every analysis has, then each family's sections in registry
order (a section two families share, such as ``report``, once).

``python -m lhcad.families.reference`` prints it as Markdown and ``... --update README.md`` rewrites
the block between the markers; a test keeps README.md in sync, so the reference is never
written twice by hand.
"""

from __future__ import annotations

import json
import sys
import types
import typing
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from lhcad.config.base import AnalysisBase
from lhcad.families.registry import DEFAULT_FAMILY, FAMILIES

BEGIN = "<!-- yaml-reference:begin -->"
END = "<!-- yaml-reference:end -->"


def _type_name(annotation: object) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(json.dumps(a) for a in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in args)
    if origin in (list, tuple, dict):
        inner = ", ".join(_type_name(a) for a in args if a is not Ellipsis)
        return f"{origin.__name__}[{inner}]"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return "(required)"
    else:
        value = field.default
    if isinstance(value, BaseModel):
        return "(section)"
    if isinstance(value, dict):
        value = {k: (v.model_dump() if isinstance(v, BaseModel) else v) for k, v in value.items()}
    return f"`{json.dumps(value)}`"


#: Stands for the user's key in the dotted path of a ``dict[str, Model]`` field's entries.
ENTRY = "<name>"


def _submodel(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _nested(annotation: object) -> tuple[type[BaseModel], str] | None:
    """The model whose fields a field holds, with what its entries add to the dotted key: nothing
    for a section (``Model``) or an optional one (``Model | None``), ``.<name>`` for
    ``dict[str, Model]``, ``[]`` for ``list[Model]``."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    model = _submodel(annotation)
    if model is not None:
        return model, ""
    if origin is typing.Annotated:
        return _nested(args[0])
    if origin in (typing.Union, types.UnionType):
        models = [_submodel(a) for a in args if a is not type(None)]
        if len(models) == 1 and models[0] is not None:
            return models[0], ""
    if origin is dict and len(args) == 2 and (model := _submodel(args[1])) is not None:
        return model, f".{ENTRY}"
    if origin is list and len(args) == 1 and (model := _submodel(args[0])) is not None:
        return model, "[]"
    return None


def iter_model_fields(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, FieldInfo]]:
    """Every (dotted key, field) of ``model``, depth first, the fields of optional sections and
    of the entries of dicts and lists of models (``fit.models.<name>.signal``) included."""
    for name, field in model.model_fields.items():
        dotted = f"{prefix}{name}"
        yield dotted, field
        nested = _nested(field.annotation)
        if nested is not None:
            yield from iter_model_fields(nested[0], f"{dotted}{nested[1]}.")


def iter_fields() -> Iterator[tuple[str, FieldInfo]]:
    """Every (dotted key, field) of an analysis of any family: the keys of
    :class:`~lhcad.config.base.AnalysisBase` first, then each family's sections, a section
    several families share once."""
    yield from iter_model_fields(AnalysisBase)
    done = set(AnalysisBase.model_fields)
    for family in FAMILIES.values():
        for name, field in family.model.model_fields.items():
            if name in done:
                continue
            done.add(name)
            yield name, field
            nested = _nested(field.annotation)
            if nested is not None:
                yield from iter_model_fields(nested[0], f"{name}{nested[1]}.")


def reference_markdown() -> str:
    """The YAML reference as one Markdown table."""
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for dotted, field in iter_fields():
        sub = _submodel(field.annotation)
        kind = "section" if sub is not None else _type_name(field.annotation)
        default = "" if sub else _default(field)
        if dotted == "kind":
            kind = " \\| ".join(json.dumps(k) for k in FAMILIES)
            default = f"`{json.dumps(DEFAULT_FAMILY)}` (or the family of the pipeline's stages)"
        elif dotted == "pipeline":
            default = "every stage of the family"
        doc = " ".join((field.description or "").split()).replace("|", "\\|")
        lines.append(f"| `{dotted}` | {kind} | {default} | {doc} |")
    return "\n".join(lines) + "\n"


def update_file(path: Path) -> None:
    """Replace the text between :data:`BEGIN` and :data:`END` in ``path`` by the reference."""
    text = path.read_text()
    start, stop = text.index(BEGIN) + len(BEGIN), text.index(END)
    path.write_text(text[:start] + "\n" + reference_markdown() + text[stop:])


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:2] == ["--update"]:
        update_file(Path(sys.argv[2]))
    else:
        print(reference_markdown(), end="")
