"""The base of every config model, the constrained field types they share, and the regular
binning of one observable (:class:`Binning`, read by :mod:`lhcad.histograms`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

PositiveInt = Annotated[int, Field(gt=0)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class Section(BaseModel):
    """Base of every config model: unknown keys are errors, attribute docstrings document fields."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True)


class Binning(Section):
    """Regular binning of one observable."""

    bins: PositiveInt
    """Number of bins."""
    lo: float
    """Lower edge in GeV."""
    hi: float
    """Upper edge in GeV."""

    @model_validator(mode="after")
    def _ordered(self) -> Binning:
        if not self.hi > self.lo:
            raise ValueError(f"hi ({self.hi:g}) must be above lo ({self.lo:g})")
        return self
