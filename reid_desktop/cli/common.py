"""What every `reid` command shares: opening a project, progress lines, one-line errors."""

from __future__ import annotations

import argparse
import errno
import logging
import sqlite3
import sys
from pathlib import Path

from reid_desktop.core.encoders.contract import ContractError
from reid_desktop.core.ingest.relink import RelinkError
from reid_desktop.core.jobs import Cancelled, Progress
from reid_desktop.core.names import display_name
from reid_desktop.store import Project, ProjectError

log = logging.getLogger("reid")


# The bar on the terminal, if any: an error line must not land at the end of a half-drawn bar.
_bars: list = []


def progress_printer(stream=None):
    """(show, finish) for a job's Progress. On a terminal: a tqdm bar per phase (a new total),
    redrawn in place with elapsed time and ETA. Otherwise (pipes, logs, CI): one plain line per
    finished phase. `finish` may be called more than once."""
    stream = stream or sys.stderr
    return _bar_printer(stream) if stream.isatty() else _line_printer(stream)


def _line_printer(stream):
    def show(p: Progress) -> None:
        if p.total is None or p.done == p.total:
            stream.write((f"[{'#' * 30}] {p.message}" if p.total else p.message) + "\n")

    return show, lambda: None


def _bar_printer(stream):
    from tqdm import tqdm

    def show(p: Progress) -> None:
        bar = _bars[-1] if _bars else None
        if bar is None or bar.total != p.total or p.done < bar.n:  # a new phase
            _close_bars()
            fmt = "{l_bar}{bar:30}| {elapsed}<{remaining}" if p.total else "{desc} [{elapsed}]"
            bar = tqdm(total=p.total, file=stream, bar_format=fmt, dynamic_ncols=True, mininterval=0.1)
            _bars.append(bar)
        bar.set_description_str(p.message, refresh=False)
        if p.total:
            bar.update(max(0, p.done - bar.n))
        else:
            bar.refresh()

    return show, _close_bars


def _close_bars() -> None:
    while _bars:
        _bars.pop().close()


def add_command(
    sub: argparse._SubParsersAction, name: str, func, help: str, *, project: str | None = "project file"
) -> argparse.ArgumentParser:
    """A `reid` subcommand that runs func(args); most take the project file first (project=None:
    no project argument)."""
    p = sub.add_parser(name, help=help)
    if project is not None:
        p.add_argument("project", help=project)
    p.set_defaults(func=func)
    return p


def open_project(path: str, *, create: bool = False, read_only: bool = False) -> Project:
    """read_only for commands that only look: they never write (full disks, read-only media)."""
    p = Path(path)
    if create and not p.exists() and not p.with_name(p.name + ".reidproj").exists():
        project = Project.create(p)
        print(f"Created project {project.path}", file=sys.stderr)
        return project
    if not p.exists() and p.with_name(p.name + ".reidproj").exists():
        p = p.with_name(p.name + ".reidproj")
    return Project.open(p, read_only=read_only)


def run_command(args: argparse.Namespace) -> int:
    """Run the chosen command; every failure becomes one `reid: error:` line and exit 1."""
    try:
        return args.func(args)
    except (ProjectError, RelinkError, ContractError, ValueError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        return fail(str(message))
    except Cancelled:
        return 130
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        full = " — the disk is full; free some space and run it again" if exc.errno == errno.ENOSPC else ""
        return fail(f"{exc.strerror or exc}{where}{full}")
    except sqlite3.Error as exc:
        return fail(f"the project could not be read or written: {exc}")
    except Exception as exc:  # never a traceback for a user; -v logs it
        log.debug("unexpected failure", exc_info=True)
        return fail(f"unexpected {type(exc).__name__}: {exc} (run with -v for details)")


def fail(message: str) -> int:
    _close_bars()
    print(f"reid: error: {display_name(message)}", file=sys.stderr)
    return 1
