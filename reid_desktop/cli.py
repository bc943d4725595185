"""`reid`: headless commands (ingest, info, skipped, relink; engine ones in cli_engine). No Qt."""

from __future__ import annotations

import argparse
import errno
import json
import logging
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from reid_desktop.core.contract import ContractError
from reid_desktop.core.identities import count_identities
from reid_desktop.core.jobs import Cancelled, CancelToken, Progress, run_job
from reid_desktop.core.layouts import LAYOUTS
from reid_desktop.core.names import display_name
from reid_desktop.core.relink import RelinkError, relink
from reid_desktop.core.scan import ingest, plan_sources
from reid_desktop.store import Project, ProjectError, ProjectSummary

log = logging.getLogger("reid")


def _progress_printer(stream=None):
    stream = stream or sys.stderr
    tty = stream.isatty()
    last = [""]

    def show(p: Progress) -> None:
        if p.total:
            width = 30
            filled = int(width * (p.fraction or 0))
            line = f"[{'#' * filled}{'.' * (width - filled)}] {p.message}"
        else:
            line = p.message
        if tty:
            stream.write("\r" + line.ljust(len(last[0])))
            stream.flush()
        elif p.total is None or p.done == p.total:
            stream.write(line + "\n")
        last[0] = line

    def finish() -> None:
        if tty and last[0]:
            stream.write("\n")

    return show, finish


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


def cmd_ingest(args: argparse.Namespace) -> int:
    plan_sources(args.folders, args.layout)  # refuse bad folders before creating a project
    with open_project(args.project, create=True) as project:
        show, finish = _progress_printer()
        token = CancelToken()
        try:
            report = run_job(ingest(project, args.folders, args.layout, token), show)
        except KeyboardInterrupt:
            finish()
            print("Interrupted; crops checked so far are saved. Run again to finish.", file=sys.stderr)
            return 130
        finally:
            finish()
        for line in report.lines():
            print(line)
        if report.skipped:
            print(f"\n{len(report.skipped)} skipped:")
            for root, r in report.skipped[: args.show_skipped]:
                print(f"  {display_name(f'{Path(root).name}/{r.rel_path}: {r.reason}')}")
            if len(report.skipped) > args.show_skipped:
                print(
                    f"  ... and {len(report.skipped) - args.show_skipped} more "
                    f"(`reid skipped {args.project}` lists them all)"
                )
        return 1 if report.errors else 0


def summary_dict(s: ProjectSummary, identities: int) -> dict:
    return {
        "cameras": [
            {
                "name": c.camera.name,
                "root": c.camera.root,
                "layout": c.camera.layout,
                "crops": c.present,
                "missing": c.missing,
                "skipped": c.skipped,
            }
            for c in s.cameras
        ],
        "crops": s.crops,
        "models": s.models,
        "embeddings": s.embeddings,
        "decisions": s.decisions,
        "decisions_total": s.decisions_total,
        "identities": identities,
        "named_identities": s.named_identities,
        "skipped": s.skipped,
    }


def cmd_info(args: argparse.Namespace) -> int:
    with open_project(args.project, read_only=True) as project:
        s = project.summary()
        identities = count_identities(project)
        if args.json:
            print(json.dumps(summary_dict(s, identities), indent=2))
            return 0
        print(f"Project {display_name(str(project.path))}")
        print(f"{len(s.cameras)} camera(s), {s.crops} crop(s)")
        for c in s.cameras:
            extra = f", {c.missing} missing" if c.missing else ""
            extra += f", {c.skipped} skipped" if c.skipped else ""
            name, root = display_name(c.camera.name), display_name(c.camera.root)
            print(f"  {name:<20} {c.present:>7} crops{extra}   {root}")
        print(f"models: {s.models}   embeddings: {s.embeddings}")
        print(f"decisions: {s.decisions} in force ({s.decisions_total} recorded)   identities: {identities}")
        if s.skipped:
            print(f"skipped files: {s.skipped} (`reid skipped {args.project}`)")
        return 0


def cmd_skipped(args: argparse.Namespace) -> int:
    with open_project(args.project, read_only=True) as project:
        for item in project.skipped.all():
            print(f"{display_name(f'{item.source_root}/{item.path}')}\t{display_name(item.reason)}")
    return 0


def cmd_relink(args: argparse.Namespace) -> int:
    with open_project(args.project) as project:
        rep = relink(project, str(Path(args.old).expanduser().absolute()), args.new)
        print(
            f"Relinked {rep.cameras} camera(s) to {rep.new_root} "
            f"({rep.matched}/{rep.sampled} sampled crops verified). Run `reid ingest` on it to "
            "pick up new or missing files."
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reid", description="reid-desktop headless commands")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="add or re-scan camera folders (creates the project)")
    p.add_argument("project", help="project file (.reidproj); created when missing")
    p.add_argument(
        "folders", nargs="+", help="camera folders, a folder of camera folders, or a Market-1501 folder"
    )
    p.add_argument(
        "--layout",
        choices=LAYOUTS,
        default="auto",
        help="folders: one folder per camera; market: cameras from Market-1501 names; auto (default): detect",
    )
    p.add_argument(
        "--show-skipped", type=int, default=20, metavar="N", help="list at most N skipped files (default 20)"
    )
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("info", help="counts per camera, models, embeddings, decisions, identities")
    p.add_argument("project")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("skipped", help="every file the last scans refused, with the reason")
    p.add_argument("project")
    p.set_defaults(func=cmd_skipped)

    p = sub.add_parser("relink", help="point cameras at a folder that was moved")
    p.add_argument("project")
    p.add_argument("old", help="the folder as it was scanned")
    p.add_argument("new", help="where it is now")
    p.set_defaults(func=cmd_relink)
    from .cli_engine import add_engine_commands

    add_engine_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return args.func(args)
    except (ProjectError, RelinkError, ContractError, ValueError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        return _fail(str(message))
    except Cancelled:
        return 130
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        full = " — the disk is full; free some space and run it again" if exc.errno == errno.ENOSPC else ""
        return _fail(f"{exc.strerror or exc}{where}{full}")
    except sqlite3.Error as exc:
        return _fail(f"the project could not be read or written: {exc}")
    except Exception as exc:  # never a traceback for a user; -v logs it
        log.debug("unexpected failure", exc_info=True)
        return _fail(f"unexpected {type(exc).__name__}: {exc} (run with -v for details)")


def _fail(message: str) -> int:
    print(f"reid: error: {display_name(message)}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
