"""Training: loss per member and epoch, and the validation AUC of every score after each epoch
(the reference study's AUC-vs-epoch figure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from lhcad.plots.style import (
    ENSEMBLE,
    finish_grid,
    grid,
    integer_epochs,
    label_figure,
    member_color,
    score_label,
    single,
)


def member_series(epochs: Sequence[Mapping[str, Any]], key: str) -> np.ndarray:
    """(members, epochs) array of one per-epoch quantity; NaN where a member had stopped."""
    rows = [[np.nan if v is None else float(v) for v in epoch.get(key) or []] for epoch in epochs]
    n_members = max((len(r) for r in rows), default=0)
    table = np.full((n_members, len(rows)), np.nan)
    for e, row in enumerate(rows):
        table[: len(row), e] = row
    return table


def loss_curves(history: Mapping[str, Any], analysis: str) -> Figure:
    """Training (solid) and validation (dashed) loss of every member; a marker at the epoch of
    the lowest validation loss."""
    train = member_series(history["epochs"], "loss")
    val = member_series(history["epochs"], "val_loss")
    best = history.get("best_loss_epoch") or []
    fig, ax = single()
    epochs = np.arange(1, train.shape[1] + 1)
    for k in range(train.shape[0]):
        color = member_color(k)
        ax.plot(epochs, train[k], color=color, linewidth=2)
        if k < len(val) and np.isfinite(val[k]).any():
            ax.plot(epochs, val[k], color=color, linewidth=2, linestyle="--")
            if k < len(best) and 1 <= best[k] <= len(epochs):
                ax.plot(best[k], val[k, best[k] - 1], marker="*", markersize=18, color=color, linestyle="none")
    handles = [Line2D([], [], color=member_color(k), linewidth=3) for k in range(train.shape[0])]
    labels = [f"member {k}" for k in range(train.shape[0])]
    handles += [
        Line2D([], [], color="grey", linewidth=2),
        Line2D([], [], color="grey", linewidth=2, linestyle="--"),
        Line2D([], [], color="grey", marker="*", markersize=14, linestyle="none"),
    ]
    labels += ["training", "validation", "lowest validation loss"]
    ax.legend(handles, labels, loc="upper right", ncol=2, fontsize=15)
    ax.set_xlabel("Epoch")
    ax.set_ylabel("Loss per event")
    ax.set_xlim(0.5, max(len(epochs), 2) + 0.5)
    integer_epochs(ax)
    low, high = np.nanmin([np.nanmin(train), np.nanmin(val) if np.isfinite(val).any() else np.inf]), np.nanmax(train)
    span = max(high - low, 1e-6)
    ax.set_ylim(low - 0.05 * span, high + 0.45 * span)
    label_figure(fig, analysis, ax=ax)
    fig.tight_layout()
    return fig


def model_loss_figure(
    epochs: Sequence[int],
    train: Sequence[float],
    val: Sequence[float],
    best_epoch: int,
    analysis: str,
    *,
    ylabel: str = "loss per event",
    rlabel: str = "√s = 13 TeV",
) -> Figure:
    """One model's training and validation loss against the epoch, its best epoch marked."""
    fig, ax = single()
    ax.plot(epochs, train, marker="o", label="training", color="#3f90da")
    ax.plot(epochs, val, marker="s", label="validation", color="#e42536")
    if best_epoch:
        ax.axvline(best_epoch, color="#94a4a2", ls="--", label=f"best epoch ({best_epoch})")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    integer_epochs(ax)
    ax.legend()
    label_figure(fig, analysis, ax=ax, rlabel=rlabel)
    return fig


def auc_vs_epoch(
    per_member: Mapping[str, Sequence[Sequence[float | None]]],
    ensemble: Mapping[str, Sequence[float | None]] | None,
    analysis: str,
    *,
    chosen: str | None = None,
) -> Figure:
    """One panel per score: the validation AUC of every member (thin) and of the ensemble
    (thick black) after each epoch. ``chosen`` (the score used downstream) is marked; below the
    dotted 0.5 line a score is inverted (its low side is the signal-like one)."""
    fig, axes = grid(len(per_member), ncols=min(len(per_member), 3), sharey=True)
    for ax, (name, history) in zip(axes, per_member.items()):
        table = np.array([[np.nan if v is None else v for v in epoch] for epoch in history], dtype=np.float64).T
        epochs = np.arange(1, table.shape[1] + 1) if table.size else np.arange(0)
        for k, aucs in enumerate(table):
            ax.plot(epochs, aucs, color=member_color(k), linewidth=1.8, marker="." if len(epochs) < 15 else None, label=f"member {k}")
        if ensemble and name in ensemble:
            values = np.array([np.nan if v is None else v for v in ensemble[name]], dtype=np.float64)
            ax.plot(epochs, values, color=ENSEMBLE, linewidth=3, label="ensemble")
        ax.axhline(0.5, color="grey", linestyle=":", linewidth=1.5)
        ax.text(0.98, 0.5, "below: inverted", transform=ax.get_yaxis_transform(), ha="right", va="top", fontsize=12, color="grey")
        ax.set_title(score_label(name) + ("  (used)" if name == chosen else ""), fontsize=22)
        ax.set_xlabel("Epoch")
        ax.set_ylabel("Validation AUC")
        ax.set_xlim(0.5, max(len(epochs), 2) + 0.5)
        integer_epochs(ax)
        ax.legend(loc="best", fontsize=14)
    finish_grid(fig, analysis)
    return fig
