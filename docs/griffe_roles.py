"""A griffe extension for the API reference: lhcad's docstrings are Google style but cross-reference
with Sphinx roles (``:class:`~lhcad.fit.binned.FitResult```), which Markdown shows verbatim; this
turns each role into inline code of its target (the last component after ``~``, as Sphinx does)."""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|data|mod|obj|exc|const):`(~?)([^`]+)`")


def plain_roles(text: str) -> str:
    """``:role:`~a.b.c``` -> ```c```, ``:role:`a.b.c``` -> ```a.b.c```."""
    return ROLE.sub(lambda m: f"`{m[2].rsplit('.', 1)[-1] if m[1] else m[2]}`", text)


class SphinxRolesToCode(griffe.Extension):
    """Rewrite Sphinx roles in every docstring once the package is loaded."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        self._rewrite(pkg, set())

    def _rewrite(self, obj: griffe.Object, seen: set[str]) -> None:
        if obj.path in seen:
            return
        seen.add(obj.path)
        if obj.docstring is not None:
            obj.docstring.value = plain_roles(obj.docstring.value)
        for member in obj.members.values():
            if not member.is_alias:
                self._rewrite(member, seen)  # type: ignore[arg-type]
