"""`reid` commands on a project's camera folders: ingest, info, skipped, relink. No Qt."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from reid_desktop.core.identities.curation import count_identities
from reid_desktop.core.ingest.layouts import LAYOUTS
from reid_desktop.core.ingest.relink import relink
from reid_desktop.core.ingest.scan import ingest, plan_sources
from reid_desktop.core.jobs import CancelToken, run_job
from reid_desktop.core.names import display_name
from reid_desktop.store import ProjectSummary

from .common import add_command, open_project, progress_printer


def cmd_ingest(args: argparse.Namespace) -> int:
    plan_sources(args.folders, args.layout)  # refuse bad folders before creating a project
    with open_project(args.project, create=True) as project:
        show, finish = progress_printer()
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


def summary_dict(s: ProjectSummary, identities: int, active_model: str | None = None) -> dict:
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
        "models": s.encoders,
        "active_model": active_model,
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
        active = project.active_encoder_id
        active_name = project.encoders.get(active).name if active is not None else None
        if args.json:
            print(json.dumps(summary_dict(s, identities, active_name), indent=2))
            return 0
        print(f"Project {display_name(str(project.path))}")
        print(f"{len(s.cameras)} camera(s), {s.crops} crop(s)")
        for c in s.cameras:
            extra = f", {c.missing} missing" if c.missing else ""
            extra += f", {c.skipped} skipped" if c.skipped else ""
            name, root = display_name(c.camera.name), display_name(c.camera.root)
            print(f"  {name:<20} {c.present:>7} crops{extra}   {root}")
        using = f" (active: {display_name(active_name)})" if active_name else " (none active)"
        print(f"models: {s.encoders}{using}   embeddings: {s.embeddings}")
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


def add_project_commands(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        "ingest",
        cmd_ingest,
        "add or re-scan camera folders (creates the project)",
        project="project file (.reidproj); created when missing",
    )
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
    p = add_command(sub, "info", cmd_info, "counts per camera, models, embeddings, decisions, identities")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_command(sub, "skipped", cmd_skipped, "every file the last scans refused, with the reason")
    p = add_command(sub, "relink", cmd_relink, "point cameras at a folder that was moved")
    p.add_argument("old", help="the folder as it was scanned")
    p.add_argument("new", help="where it is now")
