"""Runs an analysis: stages in order, each cached under a content key.

A stage's key is the sha256 of the canonical JSON of (stage kind, stage version, the config
sections it reads, its upstream keys, the hashes of its input files, the global seed), so a
change invalidates exactly that stage and those after it. Artifacts are built in a temporary
directory and moved into ``OUT/cache/<stage>/<key>/`` with ``os.replace``: a killed run never
leaves a half artifact, and the rerun resumes from the last finished stage.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lhcad import __version__
from lhcad.config import AnalysisBase, config_sha256, path_key
from lhcad.errors import DataError, LhcadError
from lhcad.executors import Executor, LocalExecutor, open_executor
from lhcad.pipeline.artifacts import Artifact, ArtifactWriter
from lhcad.io.atomic import copy_file_atomic, replace_tree, write_json_atomic
from lhcad.pipeline.registry import StageSpec, available_stages

log = logging.getLogger("lhcad")

MANIFEST = "manifest.json"

#: Checks run as soon as a stage has its artifact (computed or reused), before the next stage:
#: ``(analysis, stage kind, artifact, analysis file)``, raising an :class:`LhcadError` when a
#: setting cannot work with what the stage made (the LHCO search's ``select.top_n`` against the
#: events the data stage kept). The families register theirs (:mod:`lhcad.families.registry`).
STAGE_CHECKS: list[Callable[[AnalysisBase, str, Artifact, str], None]] = []


@dataclass
class StageContext:
    """Everything a running stage may use."""

    kind: str
    analysis: AnalysisBase
    inputs: dict[str, Artifact]
    out: ArtifactWriter
    seed: int
    log: logging.Logger
    reads: tuple[str, ...]
    executor_provider: Callable[[], Executor] = field(default=lambda: LocalExecutor())

    @property
    def executor(self) -> Executor:
        """Where independent tasks of this stage run (opened on first use, shared by the run)."""
        return self.executor_provider()

    def config(self, section: str | None = None) -> Any:
        """The config section ``section`` (default: the stage's own), if the stage declared it;
        a dotted name (``jet_images.train``) is a part of a section."""
        section = section or self.kind
        if section not in self.reads:
            raise RuntimeError(f"stage {self.kind!r} reads {section!r} without declaring it")
        return config_section(self.analysis, section)


def config_section(config: AnalysisBase, name: str) -> Any:
    """The part of the analysis a stage reads: ``analysis`` (all of it), a section (``fit``) or,
    dotted, a part of one (``jet_images.data``), so that a stage's cache key covers exactly
    the settings it uses."""
    if name == "analysis":
        return config
    value: Any = config
    for part in name.split("."):
        value = getattr(value, part)
    return value


@dataclass
class StageRecord:
    """One stage of a run, as written to ``run.json``."""

    name: str
    key: str
    cached: bool
    seconds: float
    """Wall time of this run (cache lookup only when cached)."""
    compute_seconds: float
    """Wall time of the run that computed the artifact."""


@dataclass
class RunRecord:
    """The outcome of :func:`run_pipeline`."""

    out: Path
    stages: list[StageRecord] = field(default_factory=list)
    artifacts: dict[str, Artifact] = field(default_factory=dict)


def versions() -> dict[str, str]:
    """Versions that can change results (recorded in manifests and run.json), read from package
    metadata so that a cached rerun imports nothing heavy."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"lhcad": __version__, "python": platform.python_version()}
    for package in ("numpy", "torch", "scikit-learn", "iminuit", "boost-histogram"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def canonical_sha256(obj: Any) -> str:
    """sha256 of canonical JSON (sorted keys, no whitespace)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class FileHashCache:
    """Content hashes of input files, remembered by (path, size, mtime) so reruns don't rehash."""

    def __init__(self, store: Path):
        self.store = store
        try:
            self.known: dict[str, Any] = json.loads(store.read_text())
        except (OSError, ValueError):
            self.known = {}

    def sha256(self, path: Path) -> str:
        stat = path.stat()
        stamp = [stat.st_size, stat.st_mtime_ns]
        entry = self.known.get(str(path.resolve()))
        if entry and entry["stamp"] == stamp:
            return str(entry["sha256"])
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                digest.update(block)
        self.known[str(path.resolve())] = {"stamp": stamp, "sha256": digest.hexdigest()}
        write_json_atomic(self.store, self.known)
        return digest.hexdigest()


@contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on the output directory; a second run stops with a clear error."""
    lock_path = out / ".lock"
    handle = lock_path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise LhcadError("another lhcad run is using this output directory; wait for it to finish", source=out) from None
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def prepare_output(out: Path) -> None:
    """Create the output directory or fail with one line if it cannot be written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=out, prefix=".probe", delete=True)
        probe.close()
    except OSError as exc:
        raise LhcadError(f"output directory is not writable ({exc.strerror or exc})", source=out) from None


@contextmanager
def run_logging(out: Path) -> Iterator[None]:
    """Send lhcad's log to ``OUT/lhcad.log`` for the duration of a run."""
    handler = logging.FileHandler(out / "lhcad.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    previous = log.level
    log.setLevel(logging.INFO)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(previous)
        handler.close()


def stage_key(spec: StageSpec, config: AnalysisBase, upstream: dict[str, str], files: dict[str, str]) -> str:
    """The content key of one stage."""
    sections = {name: config_section(config, name) for name in spec.reads}
    payload = {
        "stage": spec.kind,
        "version": spec.version,
        "config": {name: section.model_dump(mode="json") for name, section in sections.items()},
        "upstream": upstream,
        "files": files,
        "seed": config.seed,
    }
    return canonical_sha256(payload)


def _publish(spec: StageSpec, artifact: Artifact, out: Path) -> None:
    for name, target in spec.publish.items():
        source = artifact.path(name)
        if not source.exists():
            continue
        destination = out / target
        if source.is_dir():
            replace_tree(destination, lambda tmp, src=source: shutil.copytree(src, tmp, dirs_exist_ok=True))
        else:
            copy_file_atomic(source, destination)


def run_pipeline(
    config: AnalysisBase,
    *,
    out: Path,
    source: str = "",
    force: bool = False,
    echo: Callable[[str], None] = lambda line: None,
    stop_after: str | None = None,
) -> RunRecord:
    """Run the stages of ``config.pipeline`` in order, reusing cached artifacts (the stages
    the analysis asks for: :meth:`~lhcad.config.base.AnalysisBase.stages_to_run`).

    Args:
        config: the validated analysis.
        out: output directory (``cache/``, ``run.json``, ``lhcad.log``, published results).
        source: the analysis file, for messages.
        force: recompute every stage.
        echo: receives the human-readable lines of the run: ``[3/10] train: <summary> ...``
            when a stage starts computing, ``[3/10] train       done in 12.3 s`` (or
            ``cached (reused; ...)``, or ``failed after ...``) when it ends.
        stop_after: run the pipeline up to and including this stage only.
    """
    stages = available_stages()
    check_input_files(config, stages, source)  # before anything is written
    prepare_output(out)
    record = RunRecord(out=out)
    started = dt.datetime.now(dt.UTC)
    with output_lock(out), run_logging(out), ExitStack() as resources:
        opened: list[Executor] = []

        def executor() -> Executor:
            if not opened:
                opened.append(resources.enter_context(open_executor(config.executor_settings(), echo)))
            return opened[0]

        log.info("run %s (%s) into %s", config.name, source, out)
        pipeline, note = config.stages_to_run()
        if note:
            log.info("%s", note)
            echo(note)
        _remove_leftovers_of_killed_runs(out / "cache")
        hashes = FileHashCache(out / "cache" / "file-hashes.json")
        keys: dict[str, str] = {}
        status = "ok"
        try:
            for number, kind in enumerate(pipeline, 1):
                spec = stages.get(kind)
                if spec is None:
                    raise LhcadError(f"stage {kind!r} is not registered (lhcad.families.registry registers every family's)")
                files = {str(p): hashes.sha256(p) for p in (spec.input_files(config) if spec.input_files else [])}
                upstream = {k: keys[k] for k in (*spec.needs, *spec.optional) if k in keys}
                key = stage_key(spec, config, upstream, files)
                keys[kind] = key
                step = f"[{number}/{len(pipeline)}]"

                def announce(spec: StageSpec = spec, step: str = step) -> None:
                    echo(f"{step} {spec.kind}: {spec.summary} ...")
                    log.info("stage %s started: %s", spec.kind, spec.summary)

                t0 = time.perf_counter()
                try:
                    artifact, stage_record = _run_or_reuse(
                        spec, config, key, upstream, files, record, out, force, executor, announce
                    )
                except BaseException as exc:
                    state = f"failed after {time.perf_counter() - t0:.1f} s ({type(exc).__name__})"
                    echo(f"{step} {kind:<11} {state}")
                    log.info("stage %s %s", kind, state)
                    raise
                record.artifacts[kind] = artifact
                record.stages.append(stage_record)
                _publish(spec, artifact, out)
                if stage_record.cached:
                    state = f"cached (reused; computed in {_duration(stage_record.compute_seconds)})"
                else:
                    state = f"done in {_duration(stage_record.seconds)}"
                echo(f"{step} {kind:<11} {state}")
                log.info("stage %s %s (key %s)", kind, state, key[:12])
                if kind == stop_after:
                    break
                for check in STAGE_CHECKS:
                    check(config, kind, artifact, source)
            _finalize_results(record, out)
        except BaseException:
            status = "failed"
            raise
        finally:
            _write_run_json(config, source, record, out, started, status)
    return record


def check_input_files(config: AnalysisBase, stages: dict[str, StageSpec], source: str = "") -> None:
    """Pre-flight: every external file the analysis's stages read exists; else one line that
    names the config key holding it (``FILE: data.path: nothere.h5: file not found``)."""
    for kind in config.stages_to_run()[0]:
        spec = stages.get(kind)
        try:
            for path in spec.input_files(config) if spec is not None and spec.input_files else []:
                if not path.is_file():
                    raise DataError("is a directory, expected a data file" if path.is_dir() else "file not found", source=path)
        except LhcadError as exc:
            found = path_key(config, exc.source) if exc.where is None and exc.source else None
            if found is None:
                raise
            raise type(exc)(f"{found[1]}: {exc.message}", source=source or None, where=found[0]) from None


def _run_or_reuse(
    spec: StageSpec,
    config: AnalysisBase,
    key: str,
    upstream: dict[str, str],
    files: dict[str, str],
    record: RunRecord,
    out: Path,
    force: bool,
    executor: Callable[[], Executor],
    announce: Callable[[], None] = lambda: None,
) -> tuple[Artifact, StageRecord]:
    """The stage's cached artifact, or a new one computed now (``announce`` is called first)."""
    final = out / "cache" / spec.kind / key
    t0 = time.perf_counter()
    if force and final.exists():
        shutil.rmtree(final)
    if (final / MANIFEST).exists():
        artifact = Artifact(spec.kind, key, final)
        compute = float(artifact.manifest.get("seconds", 0.0))
        return artifact, StageRecord(spec.kind, key, True, time.perf_counter() - t0, compute)
    announce()
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{key[:12]}-", dir=final.parent))
    try:
        ctx = StageContext(
            kind=spec.kind,
            analysis=config,
            inputs={k: record.artifacts[k] for k in (*spec.needs, *spec.optional) if k in record.artifacts},
            out=ArtifactWriter(tmp),
            seed=config.seed,
            log=logging.getLogger(f"lhcad.{spec.kind}"),
            reads=spec.reads,
            executor_provider=executor,
        )
        spec.run(ctx)
        _test_pause_inside(spec.kind, out)
        seconds = time.perf_counter() - t0
        manifest = {
            "stage": spec.kind,
            "key": key,
            "version": spec.version,
            "config": {n: config_section(config, n).model_dump(mode="json") for n in spec.reads},
            "upstream": upstream,
            "files": files,
            "seed": config.seed,
            "seconds": seconds,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "versions": versions(),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        if final.exists():  # a stale, manifest-less directory from an older lhcad
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return Artifact(spec.kind, key, final), StageRecord(spec.kind, key, False, seconds, seconds)


def _duration(seconds: float) -> str:
    """``12.3 s``, ``2 min 05 s``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def _remove_leftovers_of_killed_runs(cache: Path) -> None:
    """Temporary stage directories of a run that was killed (we hold the lock: none is live)."""
    if not cache.is_dir():
        return
    for leftover in [*cache.glob("*/.tmp-*"), *cache.glob(".in-*")]:
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


def _test_pause_inside(kind: str, out: Path) -> None:
    """Crash-safety tests set LHCAD_TEST_STAGE_DELAY=<stage> to kill a run at its worst moment:
    the stage's files are written, the atomic move has not happened yet."""
    if os.environ.get("LHCAD_TEST_STAGE_DELAY") == kind:
        (out / "cache" / f".in-{kind}").touch()
        time.sleep(3600)


def _finalize_results(record: RunRecord, out: Path) -> None:
    """Publish ``results.json`` with the timing of this run's stages, validated by its schema."""
    export = record.artifacts.get("export")
    if export is None or not export.exists("results.json"):
        return
    from lhcad.results import validate_results

    results = export.read_json("results.json")
    results["timing"] = {s.name: round(s.compute_seconds, 3) for s in record.stages}
    validate_results(results)
    write_json_atomic(out / "results.json", results)


def _write_run_json(
    config: AnalysisBase, source: str, record: RunRecord, out: Path, started: dt.datetime, status: str
) -> None:
    run = {
        "analysis": config.name,
        "source": source,
        "status": status,
        "config_sha256": config_sha256(config),
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "stages": [s.__dict__ for s in record.stages],
        "versions": versions(),
    }
    write_json_atomic(out / "run.json", run)


def run_artifacts(out: Path) -> tuple[dict[str, Artifact], dict[str, Any]]:
    """The cached artifacts of the stages of the last run in ``out``, and its ``run.json``."""
    run_json = out / "run.json"
    if not run_json.exists():
        raise LhcadError("no run.json: not an lhcad output directory (run `lhcad run` first)", source=out)
    run = json.loads(run_json.read_text(encoding="utf-8"))
    artifacts: dict[str, Artifact] = {}
    for record in run.get("stages", []):
        directory = out / "cache" / record["name"] / record["key"]
        if not (directory / MANIFEST).exists():
            raise LhcadError(f"the cached artifact of stage {record['name']!r} is gone; rerun `lhcad run`", source=directory)
        artifacts[record["name"]] = Artifact(record["name"], record["key"], directory)
    return artifacts, run
