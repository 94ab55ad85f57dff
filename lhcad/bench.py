"""``lhcad bench``: speed and memory of lhcad's hot paths, side by side with a naive reference.

Every figure is measured in one process on the same data and written as JSON (keys other tools
read: ``train_events_per_s``, ``naive_train_events_per_s``, ``train_speedup_vs_naive``,
``score_events_per_s``, ``fit_seconds_per_histogram``, ``peak_rss_mb``, ``pipeline_seconds``,
``cached_rerun_seconds``, ``pipeline_stage_seconds``, ``machine``; with ``--compress N``,
``quant_compress_events_per_s``, ``quant_decompress_events_per_s`` beside
``parquet_zstd_write_events_per_s`` and ``parquet_zstd_read_events_per_s``). Throughputs count events x epochs per second for the
whole ensemble (every member sees every event each epoch).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def machine_info(device: str) -> dict[str, Any]:
    """CPU model, threads, GPU name and library versions."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu": cpu,
        "cpu_threads": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": device,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    return info


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def bench_inputs(n_events: int, seed: int = 0) -> np.ndarray:
    """Quantile-transformed default inputs of toy dijet events, as the VAE sees them."""
    from lhcad.data.columns import DEFAULT_INPUTS
    from lhcad.data.features import add_derived_features
    from lhcad.data.toy import make_toy_events
    from lhcad.preprocessing import fit_quantile_transform

    events = add_derived_features(make_toy_events(int(n_events * 0.9), n_events - int(n_events * 0.9), seed=seed))
    x = events[list(DEFAULT_INPUTS)].to_numpy(np.float64)
    x = x[np.isfinite(x).all(axis=1)]
    return fit_quantile_transform(x, 1000, "normal", 200_000, seed).transform(x).astype(np.float32)


def bench_training(x: np.ndarray, epochs: int, members: int, batch_size: int, device: str, naive: bool) -> dict[str, float]:
    """Throughput of the vectorized ensemble trainer, and of the naive reference if asked."""
    from lhcad.config.vae import TrainConfig
    from lhcad.models.naive import train_naive_reference
    from lhcad.models.ensemble import train_ensemble
    from lhcad.models.settings import architecture
    from lhcad.models.trainer import TrainSettings

    cfg = TrainConfig(members=members, epochs=epochs, batch_size=batch_size, device=device, patience=None)  # type: ignore[arg-type]
    arch, settings = architecture(cfg, x.shape[1]), TrainSettings.of(cfg)
    seeds = list(range(members))
    n_val = max(len(x) // 10, 1)
    # warm-up (allocator, kernels, thread pools) so that neither trainer pays start-up costs
    warm = TrainConfig(members=members, epochs=1, batch_size=batch_size, device=device, patience=None)  # type: ignore[arg-type]
    train_ensemble(arch, TrainSettings.of(warm), x[n_val : n_val + 5000], x[:n_val], seeds)
    if naive:
        train_naive_reference(arch, TrainSettings.of(warm), x[n_val : n_val + 5000], seeds)
    t0 = time.perf_counter()
    train_ensemble(arch, settings, x[n_val:], x[:n_val], seeds)
    seconds = time.perf_counter() - t0
    n_train = len(x) - n_val
    out = {"train_seconds": seconds, "train_events_per_s": n_train * epochs / seconds}
    if naive:
        naive_seconds = train_naive_reference(arch, settings, x[n_val:], seeds)
        out["naive_train_seconds"] = naive_seconds
        out["naive_train_events_per_s"] = n_train * epochs / naive_seconds
        out["train_speedup_vs_naive"] = out["train_events_per_s"] / out["naive_train_events_per_s"]
    return out


#: Scoring passes timed; the median is reported (one pass over 200k events takes ~0.1 s, where a
#: scheduler hiccup shows).
SCORING_REPEATS = 5


def bench_scoring(x: np.ndarray, members: int, device: str) -> dict[str, float]:
    """Scoring throughput in events per second: all five scores of every member
    (``score_events_per_s``, what the score stage computes), and the latent-space ones alone
    (``latent_score_events_per_s``: z_mean, z_logvar, z_mean^2 and KL need only the encoder)."""
    from lhcad.config.vae import TrainConfig
    from lhcad.models.scoring import latent_scores
    from lhcad.models.trainer import resolve_device
    from lhcad.models.vae import EnsembleVAE
    from lhcad.models.settings import architecture

    model = EnsembleVAE(architecture(TrainConfig(), x.shape[1]), list(range(members))).eval()
    target = resolve_device(device)
    latent_scores(model, x[:1000], device=target)  # warm-up

    def median_seconds(decode: bool) -> float:
        times = []
        for _ in range(SCORING_REPEATS):
            t0 = time.perf_counter()
            latent_scores(model, x, device=target, decode=decode)
            times.append(time.perf_counter() - t0)
        return float(np.median(times))

    return {
        "score_events_per_s": len(x) / median_seconds(True),
        "latent_score_events_per_s": len(x) / median_seconds(False),
    }


def bench_fits(n_histograms: int = 9, seed: int = 0) -> dict[str, float]:
    """Mean wall time of one signal+background fit on top-N-sized toy histograms."""
    from lhcad.fit.binned import fit_resonance

    rng = np.random.default_rng(seed)
    edges = np.linspace(1500.0, 6000.0, 46)
    seconds = []
    for _ in range(n_histograms):
        values = np.concatenate([1500 + rng.exponential(600.0, 1500), rng.normal(3450.0, 170.0, 500)])
        counts, _ = np.histogram(values, edges)
        t0 = time.perf_counter()
        fit_resonance(edges, counts.astype(float), signal="double_crystal_ball", background="dijet")
        seconds.append(time.perf_counter() - t0)
    return {"fit_seconds_per_histogram": float(np.mean(seconds))}


def bench_pipeline(analysis: Path, data: str | None, overrides: list[str]) -> dict[str, Any]:
    """End-to-end wall time of ``lhcad run`` (fresh output) and of its fully cached rerun,
    each in a new process, as a user sees them, with the fresh run's seconds per stage (its
    ``results.json`` ``timing``: e.g. ``score`` is a weak scorer's whole window scan)."""
    sets = [*([f"data.path={data}"] if data else []), *overrides]
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "lhcad", "run", str(analysis), "--out", out]
        for item in sets:
            command += ["--set", item]

        def seconds() -> float:
            t0 = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            return time.perf_counter() - t0

        fresh = seconds()
        stage_seconds = _stage_seconds(Path(out) / "results.json")  # before the rerun rewrites it
        cached = seconds()
    children_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return {
        "pipeline_seconds": fresh,
        "cached_rerun_seconds": cached,
        "pipeline_stage_seconds": stage_seconds,
        "pipeline_peak_rss_mb": children_rss,
    }


def _stage_seconds(results_path: Path) -> dict[str, float]:
    """The ``timing`` of a run's results file (seconds per stage; empty without one)."""
    if not results_path.is_file():
        return {}
    return dict(json.loads(results_path.read_text()).get("timing") or {})


def run_bench(
    *,
    device: str = "auto",
    events: int = 100_000,
    epochs: int = 3,
    members: int = 3,
    batch_size: int = 1024,
    naive: bool = True,
    analysis: Path | None = None,
    data: str | None = None,
    overrides: list[str] | None = None,
    raw_events: int | None = None,
    raw_workers: int = 2,
    raw_convert: int | None = None,
    jet_images: int | None = None,
    compress: int | None = None,
) -> dict[str, Any]:
    """Run every benchmark and return the JSON-ready figures (``raw_events``: also convert a
    synthetic raw particle file of that many events, see :mod:`lhcad.data.raw_bench`; ``jet_images``:
    also one conv-VAE epoch over that many jet images, see :mod:`lhcad.families.jet_images.bench`;
    ``compress``: also the quantising codec's compress and decompress speed on that many toy
    events, see :mod:`lhcad.families.compress.bench`)."""
    from lhcad.models.trainer import resolve_device

    resolved = str(resolve_device(device))
    x = bench_inputs(events)
    results: dict[str, Any] = {"events": len(x), "epochs": epochs, "members": members, "batch_size": batch_size}
    results.update(bench_training(x, epochs, members, batch_size, resolved, naive))
    results.update(bench_scoring(x, members, resolved))
    results.update(bench_fits())
    if analysis is not None:
        results.update(bench_pipeline(analysis, data, overrides or []))
    if raw_events is not None:
        from lhcad.data.raw_bench import bench_raw_conversion

        results.update(bench_raw_conversion(raw_events, workers=raw_workers, convert_events=raw_convert))
    if jet_images is not None:
        from lhcad.families.jet_images.bench import bench_conv_vae

        results.update(bench_conv_vae(jet_images, resolved))
    if compress is not None:
        from lhcad.families.compress.bench import bench_compress

        results.update(bench_compress(compress))
    results["peak_rss_mb"] = peak_rss_mb()
    results["machine"] = machine_info(resolved)
    return results
