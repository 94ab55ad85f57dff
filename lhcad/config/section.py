"""The base of every config model and the constrained field types they share.

Kept apart from :mod:`lhcad.config.models` so that the section models of an analysis family
(``lhcad/families/digits/config.py``, ...) can build on it while ``models.py`` imports them.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

PositiveInt = Annotated[int, Field(gt=0)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class Section(BaseModel):
    """Base of every config model: unknown keys are errors, attribute docstrings document fields."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True)
