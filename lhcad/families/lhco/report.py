"""The report of an LHCO resonance search, built from its stages' outputs (read through
:mod:`lhcad.families.lhco.artifacts`): every figure, then the HTML page ``OUT/report/index.html``.
The ``report`` stage builds it at the end of ``lhcad run``;
:func:`lhcad.families.lhco.stages.report.rebuild_search_report` (what ``lhcad report OUT`` runs
for a search) rebuilds it from the cached artifacts of the last run without recomputing any
stage, e.g. after a change to the plotting code.

Sections follow the pipeline: data, preprocessing, training, scores, selection, fits, bump hunt,
masses, then the configuration and the provenance; a section shows only when its stage ran (a
weak scorer has no training section). Figures are written to ``<report>/figures/`` in the
configured formats; the page shows the PNGs.

Two different "true" masses appear with labelled data, always named apart: the *reconstructed
peak of the labelled signal* (:func:`signal_peak` of the signal events' measured masses, what a
perfect fit would find) and the *generated mass* (the resonance mass the events were generated
with, where the data say it: :func:`generated_masses`). Detector response and jet clustering put
the first a few percent below the second.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from lhcad.config import AnalysisBase
from lhcad.data.columns import MASS_OBSERVABLES, MJ_HEAVY, MJ_LIGHT, MJJ, RND_TRUTH_GEV
from lhcad.data.sources import EMBEDDED_DIR, EMBEDDED_PREFIX
from lhcad.families.lhco.artifacts import ALL_EVENTS, SearchArtifacts
from lhcad.families.lhco.config import AnalysisConfig
from lhcad.families.lhco.curves import fit_components, reconstruct
from lhcad.histograms import counts_and_edges, fill_histogram
from lhcad.pipeline.artifacts import Artifact
from lhcad.plots import fits as fit_plots
from lhcad.plots import inputs as input_plots
from lhcad.plots import masses as mass_plots
from lhcad.plots import scores as score_plots
from lhcad.plots import training as training_plots
from lhcad.plots import weak as weak_plots
from lhcad.plots.style import RESONANCES, plot_style
from lhcad.report.html import Flagged, Paragraph, Section, Table, render_page
from lhcad.report.parts import FigureWriter, config_section, fmt, provenance_section
from lhcad.report.summary import not_claimed, summary_lines
from lhcad.weak.windows import CLOSURE_LIMIT, EVIDENCE_METHODS, closes

MAX_RECONSTRUCTED = 50_000
"""Events passed through the VAE for the reconstruction figure."""

FIT_FIGURE_WIDTH = 600
"""Fewest pixels of width a fit figure gets on the page (as many per row as fit)."""

SELECTION_SYSTEMATIC = (
    "the largest shift of the fitted mean between the chosen selection and the other selections whose fits are "
    "valid, significant (a jet mass: passing its sideband test too) and find the same peak (a mean within one "
    "fitted width)"
)
"""The definition of ``error_syst`` (:func:`lhcad.families.lhco.stages.extract.selection_systematic`)."""

RECONSTRUCTED_PEAK = "reconstructed peak of the labelled signal"
SELECTED_PEAK = "peak of the selected labelled signal"
GENERATED_MASS = "generated mass"

LHCO_RND_FILES = "events_anomalydetection"
"""Name prefix of the official LHCO R&D files, whose signal was generated at
:data:`lhcad.data.columns.RND_TRUTH_GEV`."""

SPLIT_NAMES = ("train", "validation", "test")
MIN_SELECTED_SIGNAL = 20
"""Fewest labelled signal events of a selection whose peak the masses table shows."""


def signal_peak(values: np.ndarray, iterations: int = 10) -> float:
    """The core of a signal mass distribution: the mean within ±1.5 sigma, iterated from the
    median (sigma from the interquartile range), insensitive to the low-mass tail."""
    values = np.asarray(values, dtype=np.float64)
    centre = float(np.median(values))
    q1, q3 = np.quantile(values, [0.25, 0.75])
    width = max(float(q3 - q1) / 1.349, 1e-9)
    for _ in range(iterations):
        core = values[np.abs(values - centre) < 1.5 * width]
        if len(core) < 10:
            break
        centre, width = float(core.mean()), max(float(core.std()) / 0.739, 1e-9)
    return centre


def generated_masses(analysis: AnalysisConfig) -> dict[str, float]:
    """The masses the labelled signal was generated with, where the data say: lhcad's generator
    (``data.generate``, or an embedded sample's provenance), or the official LHCO R&D files.
    Empty for a blind analysis and for files that do not say."""
    cfg = analysis.data
    if cfg.blind:
        return {}
    if cfg.generate is not None:
        gen = cfg.generate
        return {MJJ: gen.mZ, MJ_HEAVY: gen.mX, MJ_LIGHT: gen.mY} if gen.process != "qcd" else {}
    sources = [p for p in (cfg.signal_path, cfg.path) if p]
    for source in sources:
        if Path(source).name.startswith(LHCO_RND_FILES):
            return dict(RND_TRUTH_GEV)
        if source.startswith(EMBEDDED_PREFIX):
            provenance = EMBEDDED_DIR / f"{source[len(EMBEDDED_PREFIX):]}.provenance.json"
            try:
                words = shlex.split(json.loads(provenance.read_text(encoding="utf-8"))["command"])
            except (OSError, ValueError, KeyError):
                continue
            options = dict(zip(words, words[1:]))
            found = {obs: options.get(flag) for obs, flag in ((MJJ, "--mZ"), (MJ_HEAVY, "--mX"), (MJ_LIGHT, "--mY"))}
            if all(found.values()):
                return {obs: float(v) for obs, v in found.items()}  # type: ignore[arg-type]
    return {}


class SearchRun(SearchArtifacts):
    """A search's outputs, read through their artifact classes (:mod:`lhcad.families.lhco.artifacts`,
    as :class:`lhcad.api.Run` reads them), with its analysis and what the report derives from them."""

    def __init__(self, artifacts: Mapping[str, Artifact], analysis: AnalysisConfig):
        super().__init__(artifacts)
        self.analysis = analysis

    @cached_property
    def labels(self) -> np.ndarray | None:
        return self.events.labels

    @cached_property
    def test(self) -> np.ndarray:
        """Rows of the test split (every row when there is none)."""
        return self.inputs.test_rows

    @cached_property
    def features(self) -> list[str]:
        return self.inputs.features

    @cached_property
    def truth(self) -> dict[str, float]:
        """The reconstructed peaks of the labelled signal: :func:`signal_peak` of the signal
        events' measured masses (empty without labels)."""
        if self.labels is None or not (self.labels == 1).any():
            return {}
        signal = self.events.table[self.labels == 1]
        return {obs: signal_peak(signal[obs].to_numpy()) for obs in MASS_OBSERVABLES if obs in signal.columns}

    def selected_signal(self, selection: str, observable: str, region: Sequence[float] | None = None) -> np.ndarray:
        """``observable`` of the labelled signal events that ``selection`` kept (those with mjj
        in ``region`` only, when given)."""
        if self.labels is None:
            raise ValueError("the run's events have no labels")
        rows = self.selections.rows[selection]
        if region:
            mjj = self.events.table[MJJ].to_numpy()[rows]
            rows = rows[(mjj >= region[0]) & (mjj < region[1])]
        return self.events.table[observable].to_numpy()[rows][self.labels[rows] == 1]

    def selected_truth(self, selection: str, observable: str) -> float | None:
        """:func:`signal_peak` of :meth:`selected_signal` (None without labels or with fewer than
        :data:`MIN_SELECTED_SIGNAL` events): where it departs from :attr:`truth`, the selection
        has sculpted the signal, which no fit can see."""
        if self.labels is None or selection not in self.selections.rows:
            return None
        signal = self.selected_signal(selection, observable)
        return signal_peak(signal) if len(signal) >= MIN_SELECTED_SIGNAL else None

    @cached_property
    def generated(self) -> dict[str, float]:
        """The generated masses (:func:`generated_masses`), shown only beside labelled signal."""
        return generated_masses(self.analysis) if self.truth else {}


def data_section(run: SearchRun, figures: FigureWriter) -> Section:
    summary = run.events.summary
    files = run.artifacts["data"].manifest.get("files", {})
    subsample = run.analysis.data.max_events
    rows = [
        ["file", summary.get("path", "–")],
        ["sha256", files.get(summary.get("path"), "–")],
        ["events read", fmt(summary.get("n_read"))],
        *([["random subsample (data.max_events)", fmt(subsample)]] if subsample else []),
        ["events dropped (NaN/inf features)", fmt(summary.get("n_nonfinite"))],
        ["events analysed", fmt(summary.get("n_events"))],
        ["signal events (labels)", fmt(summary.get("n_signal")) if summary.get("labelled") else "unlabelled"],
    ]
    section = Section("data", "Data", [Table([], rows, id="data-summary")])
    observables = {obs: run.events.table[obs].to_numpy() for obs in MASS_OBSERVABLES if obs in run.events.table.columns}
    fig = input_plots.feature_distributions(observables, run.labels, run.analysis.name)
    who = "signal and background (labels)" if run.labels is not None else "all events (unlabelled)"
    caption = f"Mass observables of {who}: fraction of each sample's events per bin."
    section.blocks.append(figures.add(fig, "data_masses", caption))
    return section


def _roundtrip_rows(run: SearchRun) -> list[list[str]]:
    """How much the quantile transform's round trip (transform, then inverse) changes each
    feature of the test events, in the feature's own units."""
    qt = run.inputs.transform()
    original = run.events.table[run.features].to_numpy(np.float64)[run.test]
    back = qt.inverse_transform(run.inputs.x[run.test].astype(np.float64))
    diff = np.abs(back - original)
    return [
        [name, *(f"{v:.3g}" for v in (np.median(d), np.quantile(d, 0.99), d.max()))]
        for name, d in zip(run.features, diff.T)
    ]


def preprocess_section(run: SearchRun, figures: FigureWriter) -> Section:
    info = run.inputs.info
    cfg = run.analysis.preprocess
    counts = info["n_per_split"]
    rows = [
        ["input features", ", ".join(run.features)],
        ["quantile transform", f"to {cfg.output_distribution}, {cfg.n_quantiles} quantiles, fitted on the training events"],
        ["events per split", ", ".join(f"{n}: {fmt(c)}" for n, c in zip(SPLIT_NAMES, counts))],
    ]
    section = Section("preprocessing", "Preprocessing", [Table([], rows, id="preprocessing-summary")])
    raw = {name: run.events.table[name].to_numpy() for name in run.features}
    transformed = {name: run.inputs.x[:, i] for i, name in enumerate(run.features)}
    who = "signal vs background" if run.labels is not None else "all events"
    name = run.analysis.name
    section.blocks += [
        figures.add(
            input_plots.feature_distributions(raw, run.labels, name),
            "inputs_raw",
            f"Input features, {who}, before the quantile transform.",
        ),
        figures.add(
            input_plots.feature_distributions(transformed, run.labels, name, transformed=True),
            "inputs_transformed",
            f"Input features, {who}, after the quantile transform (the VAE's inputs).",
        ),
        Table(
            ["feature", "median |Δ|", "99% quantile |Δ|", "max |Δ|"],
            _roundtrip_rows(run),
            id="roundtrip",
            caption="Quantile-transform round trip on the test events: |inverse(transform(x)) − x|, in the feature's units.",
        ),
    ]
    return section


def _reconstruction(run: SearchRun) -> tuple[dict[str, np.ndarray], list[dict[str, np.ndarray]]]:
    """Original test events and each member's reconstruction, in physical units."""
    rows = run.test[:MAX_RECONSTRUCTED]
    qt = run.inputs.transform()
    cfg = run.analysis.score
    x = run.inputs.x[rows]
    per_member = reconstruct(run.ensemble, cfg.checkpoint, cfg.use, x, seed=run.analysis.seed)
    original = {name: run.events.table[name].to_numpy()[rows] for name in run.features}
    members = []
    for x_hat in per_member:
        back = qt.inverse_transform(np.asarray(x_hat, dtype=np.float64))
        members.append({name: back[:, i] for i, name in enumerate(run.features)})
    return original, members


def training_section(run: SearchRun, figures: FigureWriter) -> Section:
    history = run.ensemble.history
    section = Section("training", "Training")
    best_loss = history.get("best_loss_epoch") or []
    stopped = history.get("stopped_epoch") or []
    best_auc = history.get("best_auc_epoch") or {}
    use = run.analysis.score.use
    train_loss = training_plots.member_series(history["epochs"], "loss")
    val_loss = training_plots.member_series(history["epochs"], "val_loss")
    rows = []
    for k in range(len(train_loss)):
        best_val = np.nanmin(val_loss[k]) if k < len(val_loss) and np.isfinite(val_loss[k]).any() else None
        rows.append([
            f"member {k}", fmt(int(np.isfinite(train_loss[k]).sum())), fmt(k < len(stopped) and stopped[k] is not None),
            fmt(best_loss[k] if k < len(best_loss) else None), fmt(best_val, 4),
            fmt(best_auc[use][k]) if use in best_auc and k < len(best_auc[use]) else "–",
        ])  # fmt: skip
    columns = ["member", "epochs run", "stopped early", "lowest val. loss at epoch", "lowest val. loss",
               f"best val. AUC of {use} at epoch"]  # fmt: skip
    section.blocks.append(Table(columns, rows, id="training-table"))
    if history.get("seconds") is not None:
        speed = history.get("events_per_second") or 0.0
        section.blocks.append(Paragraph(f"Training took {history['seconds']:.1f} s ({speed:,.0f} events/s)."))
    name = run.analysis.name
    fig = training_plots.loss_curves(history, name)
    caption = (
        "Loss per member and epoch: training = average over the epoch's batches with z sampled from the encoder; "
        "validation = after the epoch with z at the encoder mean (no sampling noise), hence lower."
    )
    section.blocks.append(figures.add(fig, "loss", caption, wide=False))
    if run.ensemble.auc is not None:
        fig = training_plots.auc_vs_epoch(run.ensemble.auc, run.ensemble.auc_ensemble, name, chosen=use)
        caption = "Validation AUC of every score after each epoch, per member and for the ensemble."
        section.blocks.append(figures.add(fig, "auc_vs_epoch", caption))
    checkpoint = run.scores.info.get("checkpoint") if run.has("score") else None
    if checkpoint is None:  # the VAE's weights were not what scored the events
        return section
    original, members = _reconstruction(run)
    fig = input_plots.reconstruction_comparison(original, members, name)
    caption = (
        "Test events through encoder → decoder (z sampled from the encoder) → inverse quantile transform, "
        f"against the originals; weights of the score stage ({checkpoint})."
    )
    section.blocks.append(figures.add(fig, "reconstruction", caption))
    return section


def score_names(run: SearchRun) -> tuple[list[str], int]:
    """Score names and ensemble size, read from the scores table's columns."""
    columns = list(run.scores.table.columns)
    names = [c for c in columns if f"{c}_m0" in columns]
    n_members = sum(1 for c in columns if names and c.startswith(f"{names[0]}_m"))
    return names, n_members


def auc_text(auc: float | None) -> str:
    """An AUC for a table; below 0.5 it says so: the score's low side is the signal-like one."""
    if auc is None or not np.isfinite(auc):
        return "–"
    return f"{auc:.3f}" if auc >= 0.5 else f"{auc:.3f} (inverted: 1 − AUC = {1 - auc:.3f})"


def scores_section(run: SearchRun, figures: FigureWriter) -> Section:
    info = run.scores.info
    if info.get("method", "vae") != "vae":
        return weak_scores_section(run, figures, info)
    names, n_members = score_names(run)
    checkpoint = info.get("checkpoint") or "–"
    used = Paragraph(
        f"Score used downstream: {info['use']} (checkpoint: {checkpoint}). Every score is oriented without labels so "
        "that higher means more anomalous; an AUC below 0.5 means the orientation put the signal on the low side, "
        "and the table says so."
    )
    section = Section("scores", "Scores", [used])
    if run.scores.metrics is not None:
        metrics = run.scores.metrics
        orientation = info.get("orientation") or {}
        n = max((len(m["members"]) for m in metrics.values()), default=0)
        rows = [
            [name, auc_text(m["auc"]), fmt(m["max_sic"], 2),
             *[auc_text(mm["auc"]) for mm in m["members"]], *(["–"] * (n - len(m["members"]))),
             *([orientation.get(name, "–")] if orientation else [])]
            for name, m in metrics.items()
        ]  # fmt: skip
        columns = ["score", "ensemble AUC", "ensemble max SIC", *[f"member {k} AUC" for k in range(n)]]
        columns += ["orientation (higher = more anomalous)"] if orientation else []
        caption = "On the test events (metrics.json); members are oriented before they are combined."
        section.blocks.append(Table(columns, rows, id="score-metrics", caption=caption))
    labels = run.labels
    rows = run.test if labels is not None else np.arange(len(run.scores.table))
    table = {c: run.scores.table[c].to_numpy()[rows] for c in run.scores.table.columns}
    test_labels = labels[rows] if labels is not None else None
    where = "test events" if labels is not None else "all events"
    fig = score_plots.score_distributions(table, test_labels, names, n_members, run.analysis.name)
    caption = f"Score distributions per member (rows) and score (columns), {where}."
    section.blocks.append(figures.add(fig, "score_distributions", caption))
    if test_labels is not None and len(np.unique(test_labels)) == 2:
        rocs = score_plots.roc_set(table, test_labels, names, n_members)
        captions = {
            "roc": "ROC curves on the test events, AUC in the legend (marked inverted below 0.5).",
            "rejection": "Background rejection 1/ε_B against signal efficiency (log scale), down to "
            f"{score_plots.MIN_BACKGROUND} selected background events.",
            "sic": "Significance improvement ε_S/√ε_B against signal efficiency, down to "
            f"{score_plots.MIN_BACKGROUND} selected background events.",
        }
        for kind, caption in captions.items():
            fig = score_plots.roc_figure(rocs, kind, run.analysis.name, chosen=info["use"])  # type: ignore[arg-type]
            section.blocks.append(figures.add(fig, kind, caption))
    return section


def _window_rows(info: Mapping[str, Any], metrics: Mapping[str, Any] | None) -> tuple[list[str], list[list[str]]]:
    """The per-window table of a weak scan: geometry, excess, closure and, with labels, truth."""
    truth = {w["index"]: w for w in (metrics or {}).get(info["method"], {}).get("windows", [])}
    closure = any("closure_auc" in w for w in info["windows"])
    columns = ["window", "mjj range [GeV]", "signal region", "reference", "excess [σ]", "at ε"]
    columns += ["closure AUC"] if closure else []
    columns += ["signal in SR", "AUC", "max SIC"] if truth else []
    rows = []
    for w in info["windows"]:
        mark = " (best)" if w["index"] == info["best_window"]["index"] else ""
        row = [f"{w['index']}{mark}", f"{w['lo']:.0f}–{w['hi']:.0f}", fmt(w["n_signal_region"]),
               fmt(w["n_reference"]), fmt(w["significance"], 1), fmt(w["efficiency"], 4)]  # fmt: skip
        row += [fmt(w.get("closure_auc"), 3)] if closure else []
        if truth:
            t = truth.get(w["index"], {})
            row += [fmt(t.get("n_signal")), auc_text(t.get("auc")), fmt(t.get("max_sic"), 2)]
        rows.append(row)
    return columns, rows


def weak_scores_section(run: SearchRun, figures: FigureWriter, info: Mapping[str, Any]) -> Section:
    """CWoLa / CATHODE: the window scan, the flow's closure, and the best window's scores."""
    method, best = info["method"], info["best_window"]
    metrics = run.scores.metrics
    text = (
        f"Scorer: {method} on {', '.join(info['features'])}; best window {best['index']} "
        f"({best['lo']:.0f}–{best['hi']:.0f} GeV, excess {best['significance']:.1f}σ at ε = {best['efficiency']})."
        + (" The scan's excess is a test of the resonance beside the selections' bump hunts."
           if method in EVIDENCE_METHODS else
           " The scan's excess is shown but claims nothing: the classifier is trained against the sideband events "
           "that calibrate it, so only the selections' bump hunts count.")
    )  # fmt: skip
    unclosed = [w["index"] for w in info["windows"] if not closes(w)]
    if unclosed:
        text += (
            f" The flow fails its closure test (AUC above {CLOSURE_LIMIT:g}) in window(s) {', '.join(map(str, unclosed))}: "
            "a classifier tells its synthetic events from the real sidebands, so those windows' excesses are no evidence."
        )
    section = Section("scores", "Scores", [Paragraph(text)])
    columns, rows = _window_rows(info, metrics)
    section.blocks.append(Table(columns, rows, id="windows", caption="Every mjj window of the scan (score.json)."))
    if metrics is not None:
        summary = [[name, auc_text(m.get("auc")), fmt(m.get("max_sic"), 2)] for name, m in metrics.items()]
        caption = "In the best window's signal region; idealised = the same classifier against a pure background template."
        section.blocks.append(Table(["scorer", "AUC", "max SIC"], summary, id="score-metrics", caption=caption))
    fig = weak_plots.window_scan(info["windows"], best["index"], run.analysis.name)
    section.blocks.append(figures.add(fig, "window_scan", "Excess significance per signal region (and the flow's sideband closure AUC)."))
    best_window = next(w for w in info["windows"] if w["index"] == best["index"])
    if "histograms" in best_window:
        fig = weak_plots.synthetic_features(best_window["histograms"], run.analysis.name)
        caption = "Best window: data against the flow's synthetic background, in the sidebands (they must agree) and the signal region."
        section.blocks.append(figures.add(fig, "synthetic_features", caption))
    inside = run.scores.table["in_signal_region"].to_numpy(dtype=bool)
    table = {"score": run.scores.table["score"].to_numpy()[inside]}
    labels = run.labels[inside] if run.labels is not None else None
    fig = score_plots.score_distributions(table, labels, ["score"], 0, run.analysis.name)
    section.blocks.append(figures.add(fig, "score_distributions", "Classifier score in the best window's signal region (out of fold)."))
    if labels is not None and len(np.unique(labels)) == 2:
        rocs = score_plots.roc_set(table, labels, ["score"], 0)
        for kind in ("roc", "sic"):
            fig = score_plots.roc_figure(rocs, kind, run.analysis.name)  # type: ignore[arg-type]
            section.blocks.append(figures.add(fig, kind, f"{kind.upper()} in the best window's signal region."))
    return section


def selection_section(run: SearchRun) -> Section:
    records = run.selections.records
    labelled = any("purity" in r for r in records)
    columns = ["selection", "events", "score threshold"]
    columns += ["signal events", "purity", "ε_S", "ε_B", "SIC"] if labelled else []
    rows = []
    for r in records:
        row = [r["name"], fmt(r["n"]), fmt(r["threshold"], 4)]
        if labelled:
            row += [fmt(r.get("n_signal")), fmt(r.get("purity"), 3), fmt(r.get("signal_efficiency"), 4),
                    fmt(r.get("background_efficiency"), 5), fmt(r.get("sic"), 2)]  # fmt: skip
        rows.append(row)
    return Section("selection", "Selection", [Table(columns, rows, id="selections")])


def mass_fit_figure(run: SearchRun, fit: Mapping[str, Any]) -> Any:
    """The mass histogram of one fit's selection with the fitted curves, its background, the
    true signal (with labels) and the pulls."""
    hists = run.histograms.hists
    obs, sel = fit["observable"], fit["selection"]
    counts, edges = counts_and_edges(hists[sel][obs])
    region = fit.get("region")
    if region:  # fitted on the events in the mjj peak only
        counts = np.asarray(fit["counts"], dtype=np.float64)
    template = counts_and_edges(hists[ALL_EVENTS][obs])[0] if ALL_EVENTS in hists else None
    signal_counts = None
    binning = run.analysis.histogram.binning
    if run.labels is not None and obs in binning:
        signal = run.selected_signal(sel, obs, region)
        signal_counts = counts_and_edges(fill_histogram(signal, binning[obs], obs))[0]
    return fit_plots.mass_fit(
        edges, counts, fit, fit_components(fit, edges, template), analysis=run.analysis.name, selection=sel,
        observable=obs, signal_counts=signal_counts, truth=run.truth.get(obs), generated=run.generated.get(obs),
    )  # fmt: skip


#: Minuit's flags of a troubled minimum, as the fit stage may record them (in fits.json's
#: ``fmin`` or on the fit itself): flag -> (the troubled value, the words for it).
FMIN_PROBLEMS: dict[str, tuple[bool, str]] = {
    "has_parameters_at_limit": (True, "parameters at their limits"),
    "is_above_max_edm": (True, "EDM above the tolerance"),
    "has_reached_call_limit": (True, "call limit reached"),
    "hesse_failed": (True, "HESSE failed"),
    "has_accurate_covar": (False, "covariance not accurate"),
    "has_posdef_covar": (False, "covariance not positive definite"),
    "has_made_posdef_covar": (True, "covariance forced positive definite"),
}


def parameters_at_limit(fit: Mapping[str, Any]) -> list[str]:
    """Names of the fit's parameters at (or on) their limits, as fits.json records them
    (``at_limit`` / ``params_at_limit``: a list, or a name -> flag mapping)."""
    for key in ("at_limit", "params_at_limit", "parameters_at_limit"):
        value = fit.get(key)
        if isinstance(value, Mapping):
            return [str(name) for name, flag in value.items() if flag]
        if isinstance(value, (list, tuple)):
            return [str(name) for name in value]
    return []


def fit_problems(fit: Mapping[str, Any]) -> list[str]:
    """What is wrong with a fit, in words: not valid (and why), parameters at their limits, and
    the troubled-minimum flags (read defensively: older fits.json lack these fields)."""
    problems = []
    if not fit.get("valid"):
        problems.append(f"not valid: {fit['reason']}" if fit.get("reason") else "not valid")
    elif fit.get("reason"):
        problems.append(str(fit["reason"]))
    at_limit = parameters_at_limit(fit)
    if at_limit and not all(name in str(fit.get("reason") or "") for name in at_limit):
        problems.append("at limit: " + ", ".join(at_limit))
    fmin = fit.get("fmin") if isinstance(fit.get("fmin"), Mapping) else {}
    for flag, (troubled, text) in FMIN_PROBLEMS.items():
        value = fmin.get(flag, fit.get(flag))
        if value is troubled and not (flag == "has_parameters_at_limit" and at_limit):
            problems.append(text)
    return list(dict.fromkeys(problems))


def _fit_row(fit: Mapping[str, Any]) -> list[object]:
    problems = fit_problems(fit)
    at_limit = set(parameters_at_limit(fit))

    def cell(text: str, parameter: str) -> object:
        return Flagged(text, f"{parameter} at its limit") if parameter in at_limit else text

    valid = fmt(bool(fit["valid"]))
    return [
        fit["selection"] + (" (mjj peak)" if fit.get("region") else ""), fit["observable"],
        f"{fit['model']} + {fit.get('background', '?')}",
        Flagged(valid, "; ".join(problems)) if problems else valid,
        cell(fmt(fit.get("mean")), "mean"), _asymmetric(fit.get("mean_error_low"), fit.get("mean_error_high")),
        cell(fmt(fit.get("sigma")), "sigma"),
        cell(f"{fmt(fit.get('signal_yield'))} ± {fmt(fit.get('signal_yield_error'))}", "s"),
        fmt(fit.get("chi2_ndf"), 2), fmt(fit.get("p_value"), 3), fmt(fit.get("significance"), 2),
        Flagged("; ".join(problems)) if problems else "–",
    ]  # fmt: skip


def fits_section(run: SearchRun, figures: FigureWriter) -> Section:
    fits = run.fits.fits
    rows = [_fit_row(f) for f in fits]
    columns = ["selection", "observable", "model", "valid", "mean [GeV]", "error [GeV]", "σ [GeV]", "signal yield",
               "χ²/ndf", "p-value", "local significance", "problems"]  # fmt: skip
    flagged = frozenset(i for i, f in enumerate(fits) if not f.get("valid"))
    caption = "Every fit (fits.json); in red: fits that are not valid, with the reason, and parameters at their limits."
    section = Section("fits", "Fits", [Table(columns, rows, id="fits", caption=caption, flagged_rows=flagged)])
    for f in fits:
        obs, sel = f["observable"], f["selection"]
        where = f" (events with mjj in {f['region'][0]:.0f}–{f['region'][1]:.0f} GeV)" if f.get("region") else ""
        problems = fit_problems(f)
        warning = f" NOT VALID ({'; '.join(problems)})." if not f.get("valid") else ""
        caption = f"{obs} of selection {sel}{where}: data, fit and its background; pulls (data − fit)/√fit below.{warning}"
        fig = mass_fit_figure(run, f)
        section.blocks.append(figures.add(fig, f"fit_{sel}_{obs}", caption, wide=False, min_width=FIT_FIGURE_WIDTH))
    return section


def _asymmetric(low: float | None, high: float | None) -> str:
    """``−12.3 / +10.1``: the (MINOS) errors of a fitted mean."""
    return "–" if low is None or high is None else f"−{abs(low):.1f} / +{abs(high):.1f}"


def _window_text(window: Sequence[float | None] | None) -> str:
    """``3300–3700``, or an en dash where the scan found no window (no excess anywhere)."""
    if not window or window[0] is None or window[1] is None:
        return "–"
    return f"{window[0]:.0f}–{window[1]:.0f}"


def bumphunt_section(run: SearchRun, figures: FigureWriter) -> Section:
    hunts = run.bumphunts.summary
    cfg = run.analysis.bumphunt
    rows = [
        [sel, _window_text(h.get("window")), fmt(h.get("observed"), 0),
         fmt(h.get("expected"), 1), fmt(h.get("local_significance"), 2), fmt(h.get("global_significance"), 2),
         fmt(h.get("n_toys")), h.get("method") or "–"]
        for sel, h in hunts.items()
    ]
    columns = ["selection", "most significant window [GeV]", "observed", "expected", "local significance",
               "global significance", "pseudo-experiments", "global p-value from"]  # fmt: skip
    text = (
        f"BumpHunter scan of each selection's mjj spectrum in {cfg.range[0]:g}–{cfg.range[1]:g} GeV with windows of "
        f"{', '.join(str(w) for w in cfg.widths_in_bins)} bins; the global significance accounts for the look-elsewhere "
        "effect with background-only pseudo-experiments."
    )
    return Section("bumphunt", "Bump hunt", [Paragraph(text), Table(columns, rows, id="bumphunt")])


def masses_section(run: SearchRun, figures: FigureWriter) -> Section:
    masses = run.masses.masses
    truth, generated = run.truth, run.generated
    hunted = any(m.get("global_significance") is not None for m in masses.values())
    tested = any("sideband" in m for m in masses.values())
    columns = ["observable", "resonance", "mass [GeV]", "total error [GeV]"]
    columns += [f"{RECONSTRUCTED_PEAK} [GeV]", f"{SELECTED_PEAK} [GeV]"] if truth else []
    columns += [f"{GENERATED_MASS} [GeV]"] if generated else []
    columns += ["stat. error [GeV]", "MINOS errors [GeV]", "selection syst. [GeV]", "width σ [GeV]", "selection", "events",
                "local significance"]  # fmt: skip
    columns += ["global significance"] if hunted else []
    columns += ["sideband test"] if tested else []
    columns += ["claimed", "why not claimed"]
    rows = []
    for obs, m in masses.items():
        total = m.get("error_total")
        if total is None and m.get("error") is not None:
            total = float(np.hypot(m["error"], m.get("error_syst") or 0.0))
        row = [obs, RESONANCES.get(obs, "–"), fmt(m.get("value")), fmt(total)]
        if truth:
            selected = run.selected_truth(m["selection"], obs) if m.get("selection") else None
            row += [fmt(truth.get(obs)), fmt(selected)]
        row += [fmt(generated.get(obs))] if generated else []
        row += [fmt(m.get("error")), _asymmetric(m.get("error_low"), m.get("error_high")), fmt(m.get("error_syst")),
                fmt(m.get("width")), m.get("selection") or "–", fmt(m.get("n")), fmt(m.get("significance"), 2)]  # fmt: skip
        row += [fmt(m.get("global_significance"), 2)] if hunted else []
        row += [fmt((m.get("sideband") or {}).get("significance"), 2)] if tested else []
        row += [fmt(bool(m.get("claimed"))), _why_not_claimed(m, run.analysis.extract.claim_significance)]
        rows.append(row)
    rule = run.analysis.extract
    trials = max((m.get("selection_trials") or 0 for m in masses.values()), default=0)
    text = (
        f"One mass per observable, chosen by the rule {rule.rule} (a fit qualifies at {rule.min_significance:g} σ "
        f"local); claimed when the {'global (bump hunt)' if hunted else 'local'} significance reaches "
        f"{rule.claim_significance:g} σ"
        + (f"; a jet mass also needs its peak's events to concentrate in the mjj signal region (sideband test, "
           f"{rule.jet_mass_evidence:g} σ)" if tested else "")
        + (f". The global significance is look-elsewhere corrected over the mjj windows (bump-hunt pseudo-experiments) "
           f"and over the {trials} selections hunted" if trials else "")
        + ". Total error: the statistical and selection errors in quadrature. Statistical error: of the fitted "
        "mean (the mean of the MINOS errors). Selection systematic: " + SELECTION_SYSTEMATIC + ", 0 when no other "
        "selection finds it. Width: the fitted peak width."
    )  # fmt: skip
    if truth:
        text += (
            f" The {RECONSTRUCTED_PEAK}: the core (iterated mean within ±1.5σ) of the labelled signal events' "
            "measured masses, what a perfect fit of the signal alone would find. The "
            f"{SELECTED_PEAK}: the same core of the labelled signal events in the selection the mass comes "
            "from; where it departs from the reconstructed peak, the selection has sculpted the signal (a score "
            "keeps some of its jets more than others), which the fit cannot see and the selection systematic "
            "sees only when the selections sculpt it differently."
        )
    if generated:
        text += f" The {GENERATED_MASS}: the resonance mass the signal events were generated with."
    section = Section("masses", "Masses", [Paragraph(text), Table(columns, rows, id="masses")])
    if truth and any(m.get("value") is not None for m in masses.values()):
        fig = mass_plots.masses_vs_truth(masses, truth, run.analysis.name, generated=generated)
        caption = f"Extracted masses over the {RECONSTRUCTED_PEAK}" + (f" (the {GENERATED_MASS} marked)." if generated else ".")
        section.blocks.append(figures.add(fig, "masses_vs_truth", caption, wide=False))
    return section


def _why_not_claimed(mass: Mapping[str, Any], claim_significance: float) -> str:
    return not_claimed(mass, claim_significance) or ("–" if mass.get("claimed") else "")


def result_summary(run: SearchRun) -> list[str]:
    """The masses, one line each, for the top of the page: the lines ``lhcad run`` prints and
    results.json's ``summary`` holds (:func:`lhcad.report.summary.mass_line`)."""
    if not run.has("extract"):
        return []
    return summary_lines(run.masses.masses, run.analysis.extract.claim_significance)


SECTIONS: tuple[tuple[str, Callable[[SearchRun, FigureWriter], Section]], ...] = (
    ("data", data_section),
    ("preprocess", preprocess_section),
    ("train", training_section),
    ("score", scores_section),
    ("select", lambda run, figures: selection_section(run)),
    ("fit", fits_section),
    ("bumphunt", bumphunt_section),
    ("extract", masses_section),
)


def build_report(
    artifacts: Mapping[str, Artifact], analysis: AnalysisConfig, directory: Path, *, versions: Mapping[str, str]
) -> list[str]:
    """Write ``directory/index.html`` and ``directory/figures/``; returns the figure names."""
    cfg = analysis.report
    figures = FigureWriter.for_report(directory, analysis)
    run = SearchRun(artifacts, analysis)
    sections: list[Section] = []
    with plot_style(cfg.style):
        for stage, make in SECTIONS:
            if stage in artifacts:
                sections.append(make(run, figures))
    sections += [config_section(analysis), provenance_section(analysis, artifacts, versions)]
    subtitle = f"{analysis.description or 'lhcad analysis'} — lhcad {versions.get('lhcad', '')}"
    page = render_page(f"lhcad report: {analysis.name}", subtitle, sections, summary=result_summary(run))
    (directory / "index.html").write_text(page, encoding="utf-8")
    return figures.written

