"""`reid` progress: a tqdm bar per phase on a terminal, plain lines elsewhere, errors on their own line."""

from __future__ import annotations

import io

from reid_desktop.cli import common
from reid_desktop.core.jobs import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


PHASES = [
    Progress(0, None, "[1/2] cam1: listing files"),
    *[Progress(i, 4, f"[1/2] cam1: {i}/4 files checked") for i in range(5)],
    Progress(0, None, "[2/2] cam2: listing files"),
    *[Progress(i, 4, f"[2/2] cam2: {i}/4 files checked") for i in range(5)],
]


def test_plain_lines_when_not_a_terminal():
    out = io.StringIO()
    show, finish = common.progress_printer(out)
    for p in PHASES:
        show(p)
    finish()
    assert out.getvalue().splitlines() == [
        "[1/2] cam1: listing files",
        f"[{'#' * 30}] [1/2] cam1: 4/4 files checked",
        "[2/2] cam2: listing files",
        f"[{'#' * 30}] [2/2] cam2: 4/4 files checked",
    ]


def test_a_bar_per_phase_on_a_terminal():
    out = Terminal()
    show, finish = common.progress_printer(out)
    for p in PHASES:
        show(p)
    finish()
    finish()  # twice is harmless (the CLI calls it on interrupt and again in `finally`)
    text = out.getvalue()
    assert "\r" in text and "100%|" + "#" * 30 + "|" in text  # ASCII bar: StringIO has no encoding
    # Each phase ends on its own line, with its last message; no bar is left open.
    lines = [line.split("\r")[-1] for line in text.split("\n") if line.strip()]
    assert [line.split(":")[0] for line in lines] == ["[1/2] cam1", "[1/2] cam1", "[2/2] cam2", "[2/2] cam2"]
    assert "4/4 files checked: 100%" in lines[1] and "4/4 files checked: 100%" in lines[3]
    assert common._bars == []


def test_an_error_starts_on_a_new_line(capsys, monkeypatch):
    out = Terminal()
    monkeypatch.setattr(common.sys, "stderr", out)
    show, _finish = common.progress_printer()
    show(Progress(2, 10, "Embedded 2/10 crops"))
    assert common.fail("the disk is full") == 1
    text = out.getvalue()
    assert text.endswith("\nreid: error: the disk is full\n") and common._bars == []
