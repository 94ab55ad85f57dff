"""The results.json schema's fit records: covariance, correlation and their parameter names are
part of the contract (schema version 2), for fits that ran and fits that could not."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import numpy as np
import pytest

from lhcad.fit import fit_resonance
from lhcad.results import SCHEMA_PATH, SCHEMA_VERSION, results_schema


def fit_schema() -> dict[str, Any]:
    schema: dict[str, Any] = results_schema()["properties"]["fits"]["items"]
    return schema


def record(counts: np.ndarray) -> dict[str, Any]:
    edges = np.linspace(2600.0, 6000.0, len(counts) + 1)
    fit = fit_resonance(edges, counts, observable="mjj")
    stored: dict[str, Any] = json.loads(json.dumps({"selection": "top500", **fit.to_dict()}, allow_nan=False))
    return stored


def test_the_schema_version_names_the_schema_file() -> None:
    assert SCHEMA_VERSION == 2 and SCHEMA_PATH.name == "results-2.json"
    assert results_schema()["properties"]["schema_version"] == {"const": SCHEMA_VERSION}
    assert {"free_params", "covariance", "correlation"} <= set(fit_schema()["required"])


def test_fit_records_with_and_without_a_covariance_follow_the_schema() -> None:
    rng = np.random.default_rng(1)
    falling = np.exp(-np.linspace(0.0, 4.0, 34))
    counts = rng.poisson(2000 * falling / falling.sum() + 60 * np.exp(-0.5 * ((np.arange(34) - 10) / 2.0) ** 2)).astype(float)
    ran = record(counts)
    assert ran["covariance"] is not None and len(ran["covariance"]) == len(ran["free_params"])
    jsonschema.validate(ran, fit_schema())
    not_run = record(np.r_[3.0, np.zeros(33)])  # too few events: no fit, no matrices
    assert not_run["covariance"] is None and not_run["correlation"] is None and not_run["free_params"] == []
    jsonschema.validate(not_run, fit_schema())

    for broken in (
        {k: v for k, v in ran.items() if k != "covariance"},
        {**ran, "correlation": [[1.5]]},
        {**ran, "free_params": "s"},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, fit_schema())
