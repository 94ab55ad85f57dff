"""Stage ``select``: the most anomalous events, as top-N and fixed-efficiency selections.

Each record of ``selections.json`` carries ``mjj_range``: the mjj range in which the score
selects the same background fraction everywhere (a weak scorer scores only its windows' signal
regions, ``score.json``'s ``mjj_range``), or None when every event is scored alike (the VAE).
The mjj fit and the bump hunt stay inside it: beyond it the selected spectrum drops to nothing.

A weak scorer's windows each calibrate their cut on their own sidebands, so the efficiency can
differ a little from tile to tile (a window's classifier learns its flow's or its sidebands'
quirks): each record also has ``tiles``, the events each tile passes (``tile_selected``) and
would pass at the cut's reference efficiency (``tile_expected``), and ``tile_jitter``, the
relative uncertainty of each tile's efficiency (its reference's finite size and any scatter
beyond it), which the bump hunt's pseudo-experiments draw.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lhcad.data.stage import Events
from lhcad.errors import StageError
from lhcad.families.lhco.artifacts import Scores, Selections
from lhcad.families.lhco.config import SelectConfig
from lhcad.pipeline.artifacts import Artifact
from lhcad.pipeline.registry import stage
from lhcad.pipeline.runner import StageContext
from lhcad.weak.windows import Window, efficiency_jitter, tiles


def clip_range(mass_range: Sequence[float] | None, scored: Sequence[float] | None) -> tuple[float, float] | None:
    """``mass_range`` narrowed to the ``scored`` range of a selection (either may be None)."""
    if scored is None:
        return None if mass_range is None else (float(mass_range[0]), float(mass_range[1]))
    if mass_range is None:
        return float(scored[0]), float(scored[1])
    return max(float(mass_range[0]), float(scored[0])), min(float(mass_range[1]), float(scored[1]))


def selection_records(select: Artifact | None) -> dict[str, dict[str, Any]]:
    """The selections' records by selection name (empty without a select stage)."""
    return {} if select is None else Selections.read(select).by_name


def tile_efficiencies(
    windows: list[dict[str, Any]], window_of: np.ndarray, mask: np.ndarray, threshold: float
) -> dict[str, Any]:
    """A weak scorer's selection tile by tile: the tiles, the events each passes and would
    pass at the reference efficiency e of the cut (``10^-threshold`` of its scored events), and
    each tile's relative efficiency uncertainty (:func:`lhcad.weak.windows.efficiency_jitter`:
    its reference's ``sqrt((1 - e) / (e N_eff))`` and the scatter beyond it), which the bump
    hunt's pseudo-experiments then draw."""
    scanned = [Window(int(w["index"]), float(w["centre"]), float(w["lo"]), float(w["hi"])) for w in windows]
    efficiency = min(10.0 ** -max(threshold, 0.0), 1.0)
    indices = np.array([w.index for w in scanned])
    length = int(max(indices.max(initial=-1), window_of.max(initial=-1))) + 1
    scored = window_of >= 0
    selected = np.bincount(window_of[scored & mask], minlength=length)[indices]
    expected = efficiency * np.bincount(window_of[scored], minlength=length)[indices]
    n_reference = np.array([float(w["n_calibration_effective"]) for w in windows])
    reference = np.sqrt((1.0 - efficiency) / (efficiency * np.clip(n_reference, 1.0, None)))
    jitter = efficiency_jitter(selected, expected, reference)
    return {
        "tiles": [list(t) for t in tiles(scanned)],
        "tile_selected": selected.tolist(),
        "tile_expected": expected.tolist(),
        "tile_jitter": jitter.tolist(),
    }


def selection_metrics(selected: np.ndarray, labels: np.ndarray) -> dict[str, float | int | None]:
    """Signal count, purity, efficiencies and SIC (eff_S / sqrt(eff_B)) of a boolean selection."""
    n_sig, n_bkg = int((labels == 1).sum()), int((labels == 0).sum())
    sel_sig = int((selected & (labels == 1)).sum())
    sel_bkg = int((selected & (labels == 0)).sum())
    eff_s = sel_sig / n_sig if n_sig else None
    eff_b = sel_bkg / n_bkg if n_bkg else None
    return {
        "n_signal": sel_sig,
        "purity": sel_sig / max(sel_sig + sel_bkg, 1),
        "signal_efficiency": eff_s,
        "background_efficiency": eff_b,
        "sic": eff_s / np.sqrt(eff_b) if eff_s is not None and eff_b else None,
    }


def top_n_mask(score: np.ndarray, n: int) -> np.ndarray:
    """Boolean mask of the ``n`` highest scores (ties broken by event order, deterministic)."""
    order = np.argsort(-score, kind="stable")
    mask = np.zeros(len(score), dtype=bool)
    mask[order[:n]] = True
    return mask


def passes_cut(record: dict[str, Any], score: np.ndarray) -> np.ndarray:
    """Whether a score passes a selection's cut: at or above a top-N's threshold (the N-th
    highest score), above an efficiency selection's quantile (the rules :func:`run_select`
    applies; the histogram stage cuts a weak scorer's background reference with them)."""
    threshold = float(record["threshold"])
    return score >= threshold if record["kind"] == "top_n" else score > threshold


@stage("select", version=4, summary="top-N and fixed-efficiency selections of the most anomalous events", needs=("data", "score"))
def run_select(ctx: StageContext) -> None:
    cfg: SelectConfig = ctx.config()
    scores = Scores.read(ctx.inputs["score"], columns=["score"])
    score = scores.score
    mjj_range = scores.mjj_range
    labels = Events.read(ctx.inputs["data"]).labels
    masks: dict[str, np.ndarray] = {}
    records: list[dict[str, Any]] = []
    for n in cfg.top_n:
        if n > len(score):
            raise StageError(f"top_n {n} is larger than the dataset ({len(score)} events)", where="select.top_n")
        masks[f"top{n}"] = top_n_mask(score, n)
        records.append({"name": f"top{n}", "kind": "top_n", "n": n, "threshold": float(np.sort(score)[-n])})
    for eff in cfg.efficiencies:
        threshold = float(np.quantile(score, 1.0 - eff))
        mask = score > threshold
        if not mask.any():
            raise StageError(f"efficiency {eff:g} selects no event", where="select.efficiencies")
        masks[f"eff{eff:g}"] = mask
        records.append({"name": f"eff{eff:g}", "kind": "efficiency", "n": int(mask.sum()), "threshold": threshold})
    for record in records:
        record["mjj_range"] = mjj_range
    if scores.windows is not None:
        window_of = Scores.read(ctx.inputs["score"], columns=["window"]).table["window"].to_numpy()
        for record in records:
            record.update(tile_efficiencies(scores.windows, window_of, masks[record["name"]], record["threshold"]))
    if labels is not None:
        for record in records:
            record.update(selection_metrics(masks[record["name"]], labels))
    Selections(records, {name: np.flatnonzero(mask) for name, mask in masks.items()}).write(ctx.out)
