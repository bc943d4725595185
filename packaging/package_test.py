"""`make package-test`: install the .deb as a workstation would get it and use it like an operator.

    python packaging/package_test.py dist/reid-desktop_0.1.0_amd64.deb [--mode dpkg|extract]

Steps (each timed; the table and dist/package-test-<name>.json report them):
  1. install an older version of the package, make a project with it (ingest + embed);
  2. install this version over it: upgraded in place, the project kept and still usable;
  3. with no project virtualenv on PATH and the install folder read-only: `reid --version` (and the
     other two programs'), ingest synthetic crops, `reid embed`, `reid-train --epochs 1` on them
     (every library it loads comes from the install or the system), `reid import-model` of the
     result, `reid embed` with it, the GUI offscreen on the project showing a pair on the Review
     tab and quitting with status 0 (`--smoke-test`), and the GUI's start time (median of 5);
  4. a damaged default encoder: a clear message at start and from `reid embed`, no crash;
  5. nothing was written into the install folder; uninstall; nothing left under /opt/reid-desktop.
As root the package is installed with dpkg; otherwise (or with --mode extract) it is unpacked into
a temporary root with dpkg-deb -x. The "older version" is this bundle repackaged as 0.0.9 with one
file the new version does not have (dpkg must remove it on upgrade).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "packaging"), str(ROOT / "tests"), str(ROOT)]

import deb as debs  # noqa: E402
from faults.tiny import tiny_data  # noqa: E402
from installed import Installed, Result  # noqa: E402

from reid_desktop import __version__  # noqa: E402

OLD_VERSION = "0.0.9"
OBSOLETE = "_internal/obsolete-in-0.1.txt"


class Failed(Exception):
    pass


class Report:
    def __init__(self) -> None:
        self.steps: list[dict] = []

    def step(self, name: str, seconds: float, detail: str = "") -> None:
        self.steps.append({"step": name, "seconds": round(seconds, 2), "detail": detail})
        print(f"  {seconds:8.2f} s  {name}{'  — ' + detail if detail else ''}", flush=True)

    def check(self, ok: bool, what: str, result: Result | None = None) -> None:
        if not ok:
            tail = f"\n--- stdout\n{result.out[-1500:]}\n--- stderr\n{result.err[-3000:]}" if result else ""
            raise Failed(f"{what}{tail}")


def run_ok(app: Installed, report: Report, name: str, argv: list[str], **kw) -> Result:
    r = app.run(argv, **kw)
    report.check(r.rc == 0, f"{name}: exit status {r.rc}", r)
    report.step(name, r.seconds, (r.out.strip().splitlines() or [""])[-1][:110])
    return r


def reid(app: Installed, report: Report, name: str, *args: str, **kw) -> Result:
    """`reid ARGS…` as the operator types it; must succeed."""
    return run_ok(app, report, name, [app.program("reid"), *args], **kw)


def smoke(app: Installed, report: Report, name: str, project: Path | None, **kw) -> dict:
    argv = [app.program("reid-desktop"), "--smoke-test", "--smoke-timeout", "300"]
    r = app.run(argv + ([str(project)] if project else []), **kw)
    report.check(r.rc == 0, f"{name}: exit status {r.rc}", r)
    done = [json.loads(line) for line in r.out.splitlines() if line.startswith('{"event": "done"')]
    report.check(len(done) == 1, f"{name}: no report", r)
    report.step(name, r.seconds, f"review: {done[0]['review'][:60]}; messages: {len(done[0]['messages'])}")
    return done[0]


def old_package(bundle_deb: Path, work: Path) -> Path:
    """This version's payload as version 0.0.9, plus one file the new version must remove."""
    root = work / "old-root"
    subprocess.run(["dpkg-deb", "-R", str(bundle_deb), str(root)], check=True)
    (root / "opt/reid-desktop" / OBSOLETE).write_text("left by 0.0.9; an upgrade removes it\n")
    control = root / "DEBIAN" / "control"
    control.write_text(control.read_text().replace(f"Version: {__version__}", f"Version: {OLD_VERSION}"))
    out = work / f"old_{OLD_VERSION}.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Znone", "--build", str(root), str(out)], check=True)
    subprocess.run(["rm", "-rf", str(root)], check=True)
    return out


def upgrade(app: Installed, report: Report, deb: Path, work: Path) -> Path:
    old = old_package(deb, work)
    report.step(f"install {OLD_VERSION} ({app.mode})", app.install(old))
    data = tiny_data(app.home / "crops", people=8, per_cam=2)
    project = app.home / "projects" / "site.reidproj"
    project.parent.mkdir()
    reid(app, report, f"{OLD_VERSION}: reid ingest", "ingest", str(project), str(data))
    reid(app, report, f"{OLD_VERSION}: reid embed", "embed", str(project))
    before = json.loads(app.run([app.program("reid"), "info", str(project), "--json"]).out)
    forced = f"dpkg: missing here, forced past: {', '.join(app.dpkg_notes)}" if app.dpkg_notes else ""
    report.step(f"upgrade to {__version__}", app.install(deb), forced)
    v = reid(app, report, "reid --version", "--version")
    report.check(v.out.startswith(f"reid {__version__} "), f"the upgrade did not replace reid: {v.out}")
    report.check(not (app.prefix / OBSOLETE).exists(), "the upgrade left a file of the old version")
    after = json.loads(app.run([app.program("reid"), "info", str(project), "--json"]).out)
    report.check(after == before, f"the project changed across the upgrade: {before} → {after}")
    again = reid(app, report, "reid embed after the upgrade", "embed", str(project))
    report.check(" 0 embedded" in again.out, f"the upgraded app re-embedded: {again.out}")
    return project


def workflow(app: Installed, report: Report) -> dict:
    ro = app.read_only()
    report.check(ro or os.geteuid() == 0, "the install folder is writable for its user")
    report.step("install folder read-only for the programs", 0.0, "yes" if ro else "no: root, unpacked")
    for prog in ("reid-desktop", "reid-train"):
        r = run_ok(app, report, f"{prog} --version", [app.program(prog), "--version"])
        report.check(r.out.startswith(f"{prog} {__version__} ("), f"{prog} --version: {r.out}")
    fresh = app.home / "projects" / "fresh.reidproj"
    data = app.home / "crops"
    reid(app, report, "reid ingest (32 synthetic crops)", "ingest", str(fresh), str(data))
    reid(app, report, "reid embed (default encoder)", "embed", str(fresh))
    debug = app.home / "ld-debug" / "train"
    debug.parent.mkdir()
    run = app.home / "runs" / "epoch1"
    run.parent.mkdir()
    train = [app.program("reid-train"), "--data", str(data), "--epochs", "1", "--out", str(run)]
    run_ok(app, report, "reid-train --epochs 1", train, LD_DEBUG="libs", LD_DEBUG_OUTPUT=str(debug))
    count, foreign = app.loaded_libraries(debug)
    report.check(
        count > 50 and not foreign, f"reid-train loaded {count} libraries; from outside: {foreign[:10]}"
    )
    report.step("reid-train's libraries: the install's or the system's", 0.0, f"{count} loaded")
    model = fresh.with_name("fresh.models") / "epoch1.onnx"
    imp = ["import-model", str(run / "encoder.onnx"), "--out", str(model), "--project", str(fresh)]
    reid(app, report, "reid import-model", *imp, "--name", "epoch1")
    reid(app, report, "reid embed (imported model)", "embed", str(fresh))
    seen = smoke(app, report, "reid-desktop --smoke-test (Review)", fresh)
    report.check(seen["tab"] == "Review" and seen["review"] == "pair", f"the GUI showed {seen}")
    report.check(seen["messages"] == [], f"the GUI showed messages: {seen['messages']}")
    report.check(
        seen["trainer"] == [str(app.prefix / "reid-train")], f"Fine-tune would run {seen['trainer']}"
    )
    times = []
    for _ in range(5):
        first, r = app.time_to_window([app.program("reid-desktop"), "--smoke-test"])
        report.check(r.rc == 0, "GUI start", r)
        times.append(first)
    report.step("GUI start to first window (median of 5)", statistics.median(times), f"all: {times}")
    return {"start_to_window_s": times}


def damaged_encoder(app: Installed, report: Report) -> None:
    onnx = app.prefix / "_internal" / "resources" / "models" / "default-mnv2.onnx"
    blank = app.home / "projects" / "blank.reidproj"
    data = app.home / "crops"
    reid(app, report, "reid ingest (damaged default encoder)", "ingest", str(blank), str(data), damaged=onnx)
    r = app.run([app.program("reid"), "embed", str(blank)], damaged=onnx)
    lines = r.err.strip().splitlines()
    report.check(
        r.rc == 1 and len(lines) == 1 and "default encoder" in lines[0], "reid embed, damaged encoder", r
    )
    report.step("reid embed refuses (damaged default encoder)", r.seconds, lines[0][:110])
    seen = smoke(app, report, "GUI start (damaged default encoder)", blank, damaged=onnx)
    report.check(
        any("default encoder" in m and str(onnx) in m for m in seen["messages"]), f"no clear message: {seen}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="package_test.py", description=__doc__.splitlines()[0])
    ap.add_argument("deb", type=Path)
    ap.add_argument("--mode", choices=("dpkg", "extract"), default="dpkg" if os.geteuid() == 0 else "extract")
    ap.add_argument("--report", type=Path, help="where to write the JSON report (default: dist/)")
    args = ap.parse_args(argv)
    package = debs.package_name(args.deb)
    if args.mode == "dpkg" and Path("/opt/reid-desktop").exists():
        print("package_test: error: /opt/reid-desktop exists; uninstall reid-desktop first", file=sys.stderr)
        return 1
    report = Report()
    print(f"package test of {args.deb.name} ({args.deb.stat().st_size / 1e6:,.0f} MB), {args.mode} install")
    with tempfile.TemporaryDirectory(prefix="reid-package-test-") as tmp:
        app = Installed(args.mode, Path(tmp) / "home")
        app.home.mkdir()
        result: dict = {}
        try:
            project = upgrade(app, report, args.deb, Path(tmp))
            result = workflow(app, report)
            damaged_encoder(app, report)
            changed = app.changes()
            report.check(not changed, f"the programs wrote into the install folder: {changed[:10]}")
            report.step("install folder unchanged (read-only)", 0.0, f"{len(app.manifest):,} files")
        except Failed as exc:
            print(f"FAILED: {exc}", file=sys.stderr)
            return 1
        finally:
            if app.manifest:  # installed: always uninstall, pass or fail
                report.step("uninstall", app.uninstall(package))
        left = [str(p) for p in (app.prefix, Path("/usr/bin/reid")) if args.mode == "dpkg" and p.exists()]
        if args.mode == "extract" and app.root.exists():
            left.append(str(app.root))
        if left or not project.is_file():
            print(f"FAILED: left after uninstall: {left}; project kept: {project.is_file()}", file=sys.stderr)
            return 1
        report.step("uninstalled: nothing left, projects kept", 0.0, str(app.prefix))
    out = args.report or ROOT / "dist" / f"package-test-{package}-{args.mode}.json"
    out.write_text(
        json.dumps({"deb": args.deb.name, "mode": args.mode, "steps": report.steps, **result}, indent=2)
    )
    print(f"package test passed; report in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
