"""The export's index files: identities.csv (one row per image) and decisions.json (the audit trail).

Both are returned as UTF-8 bytes for `export_files.write_atomic`. User text in the CSV is
formula-neutralised, since spreadsheets run cells that look like formulas.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from reid_desktop.core.export.plan import ExportItem
from reid_desktop.store import Project, utc_now

CSV_COLUMNS = (
    "file",
    "split",
    "person_id",
    "identity_name",
    "identity_notes",
    "camera",
    "source_path",
    "crop_id",
)
DECISIONS_FORMAT = "reid-desktop-decisions"
DECISIONS_VERSION = 1
# Spreadsheets run cells starting with these as formulas (OWASP "CSV injection"); tab and CR too.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """Prefix an apostrophe to cells a spreadsheet would run as a formula (= + - @ tab CR)."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_bytes(out_dir: Path, items: list[ExportItem]) -> bytes:
    """UTF-8 (no BOM), RFC 4180 quoting; user text is formula-neutralised (see `neutralise`)."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf, quoting=csv.QUOTE_MINIMAL)
    w.writerow(CSV_COLUMNS)
    for it in items:
        w.writerow(
            [
                it.target.relative_to(out_dir).as_posix(),
                it.split,
                f"{it.pid:04d}",
                neutralise(it.name),
                neutralise(it.notes),
                neutralise(it.camera),
                neutralise(str(it.source)),
                it.crop.id,
            ]
        )
    return buf.getvalue().encode("utf-8", "backslashreplace")  # see decisions_bytes


def decisions_bytes(project: Project, out_dir: Path, items: list[ExportItem]) -> bytes:
    """The audit trail as pretty UTF-8 JSON::

        {"format": "reid-desktop-decisions", "version": 1, "exported_at": ISO-8601 UTC,
         "decisions": [{"id", "query_crop_id", "query_path", "query_export", "candidate_crop_id",
                        "candidate_path", "candidate_export", "verdict", "score", "model_id",
                        "model_name", "operator", "created_at", "voids_id", "action_id",
                        "active"}, ...]}

    `*_path` is the source file (null for an unknown crop), `*_export` the exported file relative to
    the folder (null when that crop was not exported), `action_id` the operator action the row
    belongs to (rows of one group merge share it; null for rows written before actions existed),
    `active` whether the row is in force now.
    """
    paths = {i: str(p) for i, p in project.crops.paths(include_missing=True).items()}
    exported = {it.crop.id: it.target.relative_to(out_dir).as_posix() for it in items}
    models = {m.id: m.name for m in project.encoders.all()}
    active = {d.id for d in project.decisions.active()}
    rows: list[dict[str, Any]] = []
    for d in project.decisions.history():
        score = d.score if d.score is None or math.isfinite(d.score) else None  # JSON has no NaN
        rows.append(
            {
                "id": d.id,
                "query_crop_id": d.query_crop_id,
                "query_path": paths.get(d.query_crop_id),
                "query_export": exported.get(d.query_crop_id),
                "candidate_crop_id": d.candidate_crop_id,
                "candidate_path": paths.get(d.candidate_crop_id),
                "candidate_export": exported.get(d.candidate_crop_id),
                "verdict": d.verdict,
                "score": score,
                "model_id": d.encoder_id,
                "model_name": models.get(d.encoder_id) if d.encoder_id is not None else None,
                "operator": d.operator,
                "created_at": d.created_at,
                "voids_id": d.voids_id,
                "action_id": d.action_id,
                "active": d.id in active,
            }
        )
    doc = {
        "format": DECISIONS_FORMAT,
        "version": DECISIONS_VERSION,
        "exported_at": utc_now(),
        "decisions": rows,
    }
    # A non-UTF-8 file name (surrogate-escaped by Python) becomes a JSON \udcXX escape, not bad bytes.
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8", "backslashreplace")
