"""docs/your-own-data.md runs as shown: each section's code blocks, in order, in a fresh directory
(as a user would type them from the checkout's root): ``python`` blocks run, a ``yaml`` block whose
first line is ``# NAME`` is written to NAME, ``bash`` blocks run with lhcad on the PATH, and each
line of a ``text`` block (but ``...``) must appear in the output of the ``bash`` block before it.
So the page cannot show a command that does not run, or output that lhcad does not print."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "your-own-data.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\s*$", re.DOTALL | re.MULTILINE)


def sections() -> dict[str, str]:
    """The page's ``## `` sections by heading."""
    parts = re.split(r"^## (.+)$", PAGE.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2])}


def blocks(text: str) -> list[tuple[str, str]]:
    """The fenced code blocks of ``text``, in order, as (language, body)."""
    return [(match[1], match[2]) for match in FENCE.finditer(text)]


RUNNABLE = [title for title, body in sections().items() if any(lang == "bash" for lang, _ in blocks(body))]


def test_every_format_lhcad_reads_has_a_runnable_example() -> None:
    assert RUNNABLE == [
        "Labels, blind data and signal injection",
        "Parquet",
        "LHCO features HDF5",
        "LHCO raw particle HDF5",
        "ROOT trees",
    ]
    languages = {lang for body in sections().values() for lang, _ in blocks(body)}
    assert languages <= {"python", "bash", "yaml", "text"}, languages


def test_the_commands_on_the_page_are_lhcad_commands_with_real_options() -> None:
    """Cheap: every ``lhcad CMD --option`` shown (in a block or inline) exists in the click app."""
    from lhcad.cli import main

    page = PAGE.read_text(encoding="utf-8")
    lines = [
        line
        for body in sections().values()
        for lang, code in blocks(body)
        if lang == "bash"
        for line in code.replace("\\\n", " ").splitlines()
    ]
    lines += re.findall(r"`(lhcad [^`]+)`", FENCE.sub("", page))  # inline code
    root = click.Context(main, info_name="lhcad")
    shown = [
        (found[1], found[2]) for line in lines if (found := re.match(r"lhcad ([a-z-]+)(.*)", line))
    ]
    assert {name for name, _ in shown} >= {"inspect", "validate", "run", "features", "report"}
    for name, rest in shown:
        command = main.get_command(root, name)
        assert command is not None, f"lhcad {name}"
        options = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
        for option in re.findall(r"(?<!\S)(--?[a-z][\w-]*)", rest):
            assert option in options, f"lhcad {name} {option}"


def test_python_blocks_compile() -> None:
    for title, body in sections().items():
        for lang, code in blocks(body):
            if lang == "python":
                compile(code, f"{PAGE.name}: {title}", "exec")


@pytest.mark.slow
@pytest.mark.parametrize("title", RUNNABLE)
def test_section_runs_as_shown(title: str, tmp_path: Path) -> None:
    if "raw" in title:
        pytest.importorskip("fastjet")  # the gen extra clusters raw particles
        pytest.importorskip("tables")  # pandas' to_hdf in the example
    if "HDF5" in title:
        pytest.importorskip("tables")
    if "ROOT" in title:
        pytest.importorskip("uproot")
    (tmp_path / "analyses").symlink_to(ROOT / "analyses")  # the checkout's root, as on the page
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "OMP_NUM_THREADS": "1",  # tiny models train fastest on one thread of a busy CPU
        "MPLBACKEND": "Agg",
    }
    output = ""
    for lang, code in blocks(sections()[title]):
        if lang == "python":
            command = [sys.executable, "-c", code]
        elif lang == "bash":
            command = ["bash", "-euo", "pipefail", "-c", code]
        elif lang == "yaml":
            name = code.splitlines()[0].removeprefix("#").strip()
            assert name.endswith(".yaml"), f"a yaml block starts with '# FILE.yaml': {code[:60]!r}"
            (tmp_path / name).write_text(code, encoding="utf-8")
            continue
        else:  # text: what the bash block before it prints
            missing = [
                line
                for line in code.splitlines()
                if line.strip() not in ("", "...") and line not in output.splitlines()
            ]
            assert not missing, f"not printed: {missing}\n--- output:\n{output}"
            continue
        done = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, f"{lang} block failed:\n{code}\n{done.stdout}\n{done.stderr}"
        output = done.stdout
