"""Operator effort on ../shared/data/pku-reid-dev (800 crops, 50 people, 2 cameras), with
ground_truth.csv playing the operator.

An action is every key press or click that records or toggles something (S, D, a tick, Enter),
not navigation. A person is fully grouped when all of their crops are one identity and no one
else's crop is in it. For each encoder the benchmark reports the actions needed to fully group
50%, 90% and 100% of the people:

- identity review (the real `ReviewSession`): at each proposal the oracle ticks exactly the
  candidates that are the anchor's person (each tick or untick of the preselection is one action)
  and presses Shift+Enter (one action: the ticked merge, the rest are different);
- the old per-crop queue (bench/baseline_pair_queue.py) in the same run, as the baseline: one
  decision per pair, the queue computed once, until it runs dry;
- for the default encoder also the learning loop: once 10 people are fully grouped, `reid-train
  --project P --minutes M --out DIR` (as the Fine-tune dialog runs it), register, re-embed, rebuild
  the proposals, continue;
- the throughput of the real screen driven by key presses (pytest-qt style QTest clicks,
  offscreen), which must record what the session API run recorded.

    python bench/bench_operator.py [--finetune-minutes 8] [--skip-default] [--ui-proposals 80]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).parent))

from baseline_pair_queue import build_queue, open_pair  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PKU = ROOT.parent / "shared" / "data" / "pku-reid-dev"
INTEL = ROOT.parent / "shared" / "models" / "intel-person-reid-retail-0267.onnx"
MARKS = (0.5, 0.9, 1.0)


@dataclass
class Run:
    name: str
    people: int
    marks: dict[float, int] = field(default_factory=dict)  # fraction -> actions when reached
    actions: int = 0
    ticks: int = 0
    commits: int = 0
    dry: str = ""  # why it stopped before 100%, if it did
    seconds: float = 0.0

    def note(self, grouped: int) -> None:
        for q in MARKS:
            if q not in self.marks and grouped >= q * self.people:
                self.marks[q] = self.actions

    def line(self) -> str:
        parts = []
        for q in MARKS:
            a = self.marks.get(q)
            parts.append(f"{q:.0%}: {a:,} ({a / self.people:.1f}/person)" if a is not None else f"{q:.0%}: –")
        extra = f" [{self.dry}]" if self.dry else ""
        return f"{self.name:<44} " + " · ".join(parts) + f"{extra} ({self.seconds:.0f} s)"


def fully_grouped(groups, person: dict[int, str], size: dict[str, int]) -> int:
    done = 0
    for crops in groups:
        who = {person[c] for c in crops}
        if len(who) == 1 and len(crops) == size[next(iter(who))]:
            done += 1
    return done


def build_project(path: Path, encoder_path: Path, name: str):
    from reid_desktop.core.encoders.embed import embed_project
    from reid_desktop.core.encoders.registry import open_encoder, register_encoder
    from reid_desktop.core.ingest.scan import ingest
    from reid_desktop.core.jobs import run_job
    from reid_desktop.store import Project

    p = Project.create(path)
    run_job(ingest(p, [str(PKU / "cam1"), str(PKU / "cam2")], "folders"))
    enc = register_encoder(p, encoder_path, name)
    run_job(embed_project(p, enc.id, open_encoder(enc)))
    return p, enc.id


def oracle_choice(proposal, person):
    who = person[proposal.anchor_crops[0]]
    same = [c.key for c in proposal.candidates if person[c.crops[0]] == who]
    ticks = sum((c.key in same) != c.preselected for c in proposal.candidates)
    return same, [c.key for c in proposal.candidates if c.key not in same], ticks


def open_session(p, encoder_id: int):
    from reid_desktop.core.jobs import run_job
    from reid_desktop.core.review.cache import prepare_review
    from reid_desktop.core.review.session import ReviewSession

    prep = run_job(prepare_review(p, encoder_id))
    return ReviewSession.from_prepared(p, encoder_id, "oracle", prep)


def drive_session(session, run: Run, person, size, stop_at: int | None = None, log=None) -> None:
    """Answer proposals until everyone is grouped, the queue is dry, or `stop_at` people are."""
    while True:
        groups = [session.engine.crops(k) for k in session.engine.rows]
        grouped = fully_grouped(groups, person, size)
        run.note(grouped)
        if grouped >= run.people or (stop_at is not None and grouped >= stop_at):
            return
        proposal = session.current()
        if proposal is None:
            run.dry = f"queue dry with {grouped} of {run.people} fully grouped"
            return
        same, different, ticks = oracle_choice(proposal, person)
        session.commit(same=same, different=different)
        run.actions += ticks + 1
        run.ticks += ticks
        run.commits += 1
        if log is not None:
            log.append((same, different))


def identity_review(p, encoder_id: int, name: str, person, size) -> tuple[Run, list]:
    run = Run(f"{name}: identity review", len(size))
    t = time.perf_counter()
    log: list = []
    drive_session(open_session(p, encoder_id), run, person, size, log=log)
    run.seconds = time.perf_counter() - t
    return run, log


def pair_queue_baseline(p, encoder_id: int, name: str, person, size) -> Run:
    """The old per-crop queue: ranked once, one decision (one action) per pair."""
    from reid_desktop.core.identities.links import LinkGraph
    from reid_desktop.core.retrieval.matching import GalleryIndex

    run = Run(f"{name}: old per-crop queue (baseline)", len(size))
    t = time.perf_counter()
    index = GalleryIndex.from_project(p, encoder_id)
    links = LinkGraph()
    for pair in build_queue(index, links):
        if not open_pair(links, pair):
            continue
        verdict = "same" if person[pair.query] == person[pair.candidate] else "different"
        links.add(pair.query, pair.candidate, verdict)
        run.actions += 1
        run.commits += 1
        run.note(fully_grouped(links.components().values(), person, size))
        if 1.0 in run.marks:
            break
    else:
        grouped = fully_grouped(links.components().values(), person, size)
        run.dry = f"queue dry after {run.actions:,} decisions with {grouped} of {run.people} fully grouped"
    run.seconds = time.perf_counter() - t
    return run


def fine_tune_loop(tmpd: Path, encoder_path: Path, minutes: float, person_of_path, warmup_people: int = 10):
    """Default encoder with one fine-tune in the loop; returns (run, details)."""
    from reid_desktop.core.encoders.embed import embed_project
    from reid_desktop.core.encoders.registry import open_encoder, register_encoder
    from reid_desktop.core.jobs import run_job

    p, enc_id = build_project(tmpd / "loop.reidproj", encoder_path, "default-mnv2")
    person, size = person_of_path(p)
    run = Run(f"default-mnv2: identity review + {minutes:g}-min fine-tune", len(size))
    t = time.perf_counter()
    drive_session(open_session(p, enc_id), run, person, size, stop_at=warmup_people)
    details = {"actions_before_finetune": run.actions, "people_before": warmup_people}
    out = tmpd / "finetune"
    cmd = [
        sys.executable,
        "-m",
        "trainer.cli",
        "--project",
        str(p.path),
        "--minutes",
        str(minutes),
        "--out",
        str(out),
    ]
    t_train = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    details["finetune_wall_min"] = (time.perf_counter() - t_train) / 60
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    done = next((e for e in events if e.get("event") == "done"), None)
    start = next((e for e in events if e.get("event") == "start"), {})
    details.update(
        returncode=proc.returncode,
        train_ids=start.get("train_ids"),
        holdout_ids=start.get("holdout_ids"),
        epochs=sum(e.get("event") == "epoch" for e in events),
        before=done.get("before") if done else None,
        after=done.get("after") if done else None,
        error=None if done else (proc.stderr.strip().splitlines() or ["no done event"])[-1],
    )
    if done is None:
        run.dry = f"fine-tune failed: {details['error']}"
        run.seconds = time.perf_counter() - t
        return run, details
    t_embed = time.perf_counter()
    enc = register_encoder(p, out / "encoder.onnx", "fine-tuned")
    run_job(embed_project(p, enc.id, open_encoder(enc)))
    session = open_session(p, enc.id)
    details["reembed_and_rebuild_s"] = time.perf_counter() - t_embed
    drive_session(session, run, person, size)
    run.seconds = time.perf_counter() - t
    p.close()
    return run, details


def ui_throughput(path: Path, person, size, expected_log, proposals: int) -> dict:
    """The real window, driven by key presses; returns actions/minute and whether it recorded
    exactly what the session API run recorded."""
    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from reid_desktop.ui.shell.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    w = MainWindow(QSettings(str(path.with_suffix(".ini")), QSettings.IniFormat))
    w.resize(1366, 768)
    w.show()
    w.open_project(path)
    w.show_tab("Review")
    while w.job is not None or w.review.session is None or w.review.proposal is None:
        app.processEvents()
        time.sleep(0.01)
    v = w.review
    keys = actions = done = 0
    same_as_api = True
    t0 = time.perf_counter()
    run = Run("screen", len(size))
    while done < proposals and v.proposal is not None:
        run.actions = actions
        run.note(fully_grouped([v.session.engine.crops(k) for k in v.session.engine.rows], person, size))
        if 1.0 in run.marks:
            break
        same, different, _ = oracle_choice(v.proposal, person)
        for row in range(v.candidates.rowCount()):
            if v.candidates.is_ticked(row) == (v.candidates.item(row).key in same):
                continue
            if row < 9:
                QTest.keyClick(v, Qt.Key(int(Qt.Key_1) + row))
            else:  # ↓ to the candidate (navigation), then Space
                while v.current_row() < row:
                    QTest.keyClick(v, Qt.Key_Down)
                    keys += 1
                while v.current_row() > row:
                    QTest.keyClick(v, Qt.Key_Up)
                    keys += 1
                QTest.keyClick(v, Qt.Key_Space)
            actions += 1
            keys += 1
        if done < len(expected_log) and (sorted(v.candidates.ticked()), sorted(v.candidates.unticked())) != (
            sorted(expected_log[done][0]),
            sorted(expected_log[done][1]),
        ):
            same_as_api = False
        QTest.keyClick(v, Qt.Key_Return, Qt.ShiftModifier)
        app.processEvents()
        actions += 1
        keys += 1
        done += 1
    seconds = time.perf_counter() - t0
    groups = [v.session.engine.crops(k) for k in v.session.engine.rows]
    grouped = fully_grouped(groups, person, size)
    w.close()
    return {
        "proposals": done,
        "actions": actions,
        "keys": keys,
        "seconds": seconds,
        "actions_per_min": actions / seconds * 60 if seconds else 0.0,
        "proposals_per_min": done / seconds * 60 if seconds else 0.0,
        "grouped": grouped,
        "marks": run.marks,
        "same_as_api": same_as_api,
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--finetune-minutes", type=float, default=8.0, help="0 skips the learning loop")
    ap.add_argument("--skip-default", action="store_true", help="Intel encoder only")
    ap.add_argument("--ui-proposals", type=int, default=80)
    args = ap.parse_args()
    if not PKU.is_dir():
        print("../shared/data/pku-reid-dev is not present; nothing to measure")
        return 0
    from reid_desktop.core.encoders.defaults import default_encoder_path
    from reid_desktop.core.encoders.importer import import_model

    def truth(p):
        person = {c.id: c.gt_person for c in p.crops.all()}
        size: dict[str, int] = {}
        for who in person.values():
            size[who] = size.get(who, 0) + 1
        return person, size

    load = os.getloadavg()
    print(f"load: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} (1/5/15 min) on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        encoders = [] if args.skip_default else [("default-mnv2", default_encoder_path())]
        if INTEL.is_file():
            encoders.insert(0, ("intel-0267", import_model(INTEL, tmpd / "intel.onnx").dst))
        for name, enc_path in encoders:
            p, enc_id = build_project(tmpd / f"{name}.reidproj", enc_path, name)
            person, size = truth(p)
            base = pair_queue_baseline(p, enc_id, name, person, size)
            print(base.line(), flush=True)
            run, log = identity_review(p, enc_id, name, person, size)
            print(run.line() + f" — {run.commits} commits, {run.ticks} ticks", flush=True)
            path = p.path
            p.close()
            if name.startswith("intel") and args.ui_proposals:
                ui_path = tmpd / "ui.reidproj"
                p2, _ = build_project(ui_path, enc_path, name)
                p2.close()
                ui = ui_throughput(ui_path, person, size, log, args.ui_proposals)
                print(
                    f"{name}: the screen by key presses: {ui['actions']} actions ({ui['keys']} keys with "
                    f"navigation) over {ui['proposals']} proposals in {ui['seconds']:.1f} s = "
                    f"{ui['actions_per_min']:,.0f} actions/min, "
                    f"{ui['proposals_per_min']:,.0f} proposals/min; "
                    f"{ui['grouped']} people fully grouped (actions at 50/90/100%: "
                    f"{', '.join(str(ui['marks'].get(q, '–')) for q in MARKS)}); "
                    f"same verdicts as the API run: {ui['same_as_api']}",
                    flush=True,
                )
            del path
        if not args.skip_default and args.finetune_minutes > 0:
            run, details = fine_tune_loop(tmpd, default_encoder_path(), args.finetune_minutes, truth)
            print(run.line() + f" — {run.commits} commits, {run.ticks} ticks", flush=True)
            print(f"  fine-tune: {json.dumps(details, default=str)}", flush=True)
    print(f"load: {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f} (1/5/15 min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
