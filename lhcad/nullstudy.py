"""Background-only pseudo-experiments of a whole analysis: how often it claims what is not there.

A global significance is only as honest as the procedure behind it. ``lhcad null`` answers
"what would this analysis (scorer, window scan, selections, fits, bump hunt, claim rules) give on
background alone?" by running it, unchanged, on samples of a background-only file: disjoint
blocks while the file holds enough events, seeded random draws (without replacement) after
that. Each run's significance is the procedure's global significance, whether or not a fit
found a mass (:func:`run_significance`: look-elsewhere corrected over mjj windows, selections and
tests); under the background hypothesis it should be distributed no worse than ``P(Z >= z) = 1
- Phi(z)``, and nothing is claimed.

Several analyses (e.g. one per scorer) run on the same samples. Writes ``null.json`` (per
analysis and sample: its significance and claimed masses; a summary per analysis) and
``null.png`` (the significances against the background-only expectation) into ``--out``; the
samples stay under ``samples/``, every run under ``<analysis name>/runs/<k>/`` (cached: a rerun
recomputes only what changed).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd
from scipy import stats

from lhcad.api import load_analysis
from lhcad.api import run as run_analysis
from lhcad.data.columns import LABEL
from lhcad.data.parquet import write_events_parquet
from lhcad.data.sources import read_events, resolve_path
from lhcad.errors import DataError
from lhcad.fit.significance import bonferroni_p, p_to_significance
from lhcad.io.atomic import write_json_atomic
from lhcad.weak.windows import counts_as_evidence

#: Significance levels at which the observed and expected fractions of samples are compared.
LEVELS = (1.0, 2.0, 3.0)


def sample_rows(n_events: int, size: int, samples: int, seed: int) -> list[np.ndarray]:
    """Row indices of each pseudo-experiment: disjoint consecutive blocks of ``size`` while the
    file holds them, then seeded random draws without replacement (sorted)."""
    blocks = n_events // size
    rows: list[np.ndarray] = []
    for k in range(samples):
        if k < blocks:
            rows.append(np.arange(k * size, (k + 1) * size))
        else:
            rng = np.random.default_rng(seed + k)
            rows.append(np.sort(rng.choice(n_events, size, replace=False)))
    return rows


def run_significance(results: dict[str, Any]) -> tuple[float, list[str]]:
    """A run's global significance and its claimed masses.

    The significance is what the procedure would claim with, whether or not a fit found a
    mass: the most significant selection's bump hunt times the selections hunted, combined
    with a weak scorer's window scan as :func:`lhcad.families.lhco.stages.extract.extract_masses` combines
    them (the smaller p-value doubled; a scan that is no evidence, CWoLa's, does not count), or
    a mass's own if larger (0 without any).
    """
    masses = results.get("masses") or {}
    values = [m.get("global_significance") for m in masses.values()]
    significance = max((float(v) for v in values if v is not None and math.isfinite(v)), default=0.0)
    hunts = [float(h["global_p"]) for h in (results.get("bumphunt") or {}).values() if h.get("global_p") is not None]
    p_values = [bonferroni_p(hunts)] if hunts else []
    scan = results.get("window_scan") or {}
    if scan.get("global_p") is not None and counts_as_evidence(scan):
        p_values.append(float(scan["global_p"]))
    if p_values:
        significance = max(significance, float(p_to_significance(bonferroni_p(p_values))))
    return significance, [name for name, m in masses.items() if m.get("claimed")]


def summarise(significances: Sequence[float], claims: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Observed fractions of samples at or above each of :data:`LEVELS` beside the expected
    ``1 - Phi(z)``, and the number of samples with a claim."""
    z = np.asarray(significances, dtype=np.float64)
    return {
        "samples": len(z),
        "samples_with_a_claim": sum(1 for c in claims if c),
        "max_significance": float(z.max()) if len(z) else None,
        "median_significance": float(np.median(z)) if len(z) else None,
        "fraction_at_or_above": {
            f"{level:g}": {"observed": float((z >= level).mean()) if len(z) else None, "expected": float(stats.norm.sf(level))}
            for level in LEVELS
        },
    }


def plot_null(series: dict[str, Sequence[float]], directory: Path, title: str) -> None:
    """``null.png``: for each labelled series of significances, the fraction of samples at or
    above each significance, against ``1 - Phi(z)``."""
    from lhcad.plots.style import label_figure, save_figure, single

    fig, ax = single()
    largest = max((max(z, default=0.0) for z in series.values()), default=0.0)
    grid = np.linspace(0.0, max(4.0, largest + 0.5), 200)
    ax.plot(grid, stats.norm.sf(grid), color="black", label=r"background only: $1 - \Phi(z)$")
    most = 1
    for k, (label, values) in enumerate(series.items()):
        z = np.sort(np.asarray(values, dtype=np.float64))
        if not len(z):
            continue
        most = max(most, len(z))
        fraction = 1.0 - np.arange(len(z)) / len(z)
        ax.step(z, fraction, where="post", color=f"C{k}", label=f"{label} ({len(z)} samples)")
        ax.plot(z, fraction, "o", color=f"C{k}", ms=5)
    ax.axvline(3.0, color="C3", ls="--", lw=1.5, label="claim threshold")
    ax.set_yscale("log")
    ax.set_ylim(0.3 / max(most, 10), 1.5)
    ax.set_xlabel("global significance of a sample [σ]")
    ax.set_ylabel("fraction of samples at or above")
    ax.legend(fontsize="small", title=title, title_fontsize="x-small")
    label_figure(fig, "null tests", ax=ax)
    save_figure(fig, directory, "null", formats=("png",))


def null_study(
    analyses: Sequence[Path],
    background: Path,
    *,
    samples: int,
    size: int,
    out: Path,
    overrides: Sequence[str] = (),
    seed: int = 0,
    echo: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    """Run each of ``analyses`` on the same ``samples`` background-only samples of ``size``
    events of ``background``; write ``null.json`` and ``null.png`` into ``out`` (the samples
    under ``out/samples/``, each analysis's runs under ``out/<name>/runs/<k>/``).

    Raises:
        lhcad.errors.DataError: the file holds signal-labelled events or fewer than ``size``.
        lhcad.errors.LhcadError: from an analysis itself (bad configuration, a failing stage).
    """
    events = read_events(resolve_path(str(background)))
    if LABEL in events.columns and (events[LABEL] != 0).any():
        raise DataError(f"{background}: holds {(events[LABEL] != 0).sum()} signal-labelled events; a null study needs background only")
    if size > len(events):
        raise DataError(f"{background}: --size {size} is larger than the file ({len(events)} events)")
    configs = [load_analysis(analysis, list(overrides)) for analysis in analyses]  # fail early on a bad analysis
    paths: list[Path] = []
    for k, rows in enumerate(sample_rows(len(events), size, samples, seed)):
        path = out / "samples" / f"{k}.parquet"
        if not path.exists():
            write_events_parquet(events.iloc[rows].reset_index(drop=True), path)
        paths.append(path.resolve())
    studies: list[dict[str, Any]] = []
    for analysis, config in zip(analyses, configs):
        label = f"{config.name} ({config.score.method})"
        records: list[dict[str, Any]] = []
        for k, path in enumerate(paths):
            sample_config = load_analysis(analysis, [*overrides, f"data.path={path}"])
            result = run_analysis(sample_config, out=out / config.name / "runs" / str(k), source=str(analysis))
            significance, claimed = run_significance(dict(result.results or {}))
            kind = "block" if k < len(events) // size else "random draw"
            records.append({"sample": k, "kind": kind, "events": size, "global_significance": significance, "claimed": claimed})
            verdict = f"CLAIMED {', '.join(claimed)}" if claimed else "nothing claimed"
            echo(f"{label} sample {k} ({kind}): global {significance:.2f} sigma, {verdict}")
        studies.append({
            "analysis": str(analysis), "name": config.name, "score_method": config.score.method, "label": label,
            "samples": records, "summary": summarise([r["global_significance"] for r in records], [r["claimed"] for r in records]),
        })  # fmt: skip
    document = {"background": str(background), "size": size, "seed": seed, "overrides": list(overrides), "studies": studies}
    write_json_atomic(out / "null.json", document)
    series = {study["label"]: [r["global_significance"] for r in study["samples"]] for study in studies}
    plot_null(series, out, f"{samples} background-only samples of {size} events")
    return document


@click.command("null")
@click.argument("analyses", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--background", type=click.Path(path_type=Path), required=True, help="Background-only events file.")
@click.option("--samples", type=click.IntRange(min=1), default=10, show_default=True, help="Pseudo-experiments.")
@click.option("--size", type=click.IntRange(min=100), default=120_000, show_default=True, help="Events per pseudo-experiment.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random draws beyond the disjoint blocks.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output directory.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config field of every analysis.")
def null_command(
    analyses: tuple[Path, ...], background: Path, samples: int, size: int, seed: int, out: Path, overrides: tuple[str, ...]
) -> None:
    """Run analyses unchanged on the same background-only pseudo-experiments: their false-claim
    rates and the distributions of their global significances (null.json, null.png)."""
    from lhcad.errors import handle_errors

    handle_errors(_null)(list(analyses), background, samples=samples, size=size, seed=seed, out=out, overrides=overrides)


def _null(
    analyses: list[Path], background: Path, *, samples: int, size: int, seed: int, out: Path, overrides: tuple[str, ...]
) -> None:
    document = null_study(analyses, background, samples=samples, size=size, out=out, overrides=overrides, seed=seed, echo=click.echo)
    for study in document["studies"]:
        summary = study["summary"]
        click.echo(
            f"{study['label']}: {summary['samples_with_a_claim']} of {summary['samples']} samples claim a mass; "
            f"largest global significance {summary['max_significance']:.2f} sigma"
        )
    click.echo(f"null study: {out / 'null.json'}, {out / 'null.png'}")
