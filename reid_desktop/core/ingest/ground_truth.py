"""The one reader of ground-truth CSVs, shared by `reid eval`, `reid-train --data` and ingest.

Format: UTF-8 text (a BOM is fine), comma-separated, a header row naming at least the columns
`file` and `person_id` (any order, any case; more columns such as `camera` are allowed), then one
row per crop. `file` is relative to the data folder. All or nothing: the first problem raises
`GroundTruthError`, one line naming the file, the row (as a spreadsheet numbers it: the header is
row 1) and the reason, and no label of that file is used. Refused: an empty file, a missing or
wrong header, `;`- or tab-separated columns, bytes that are not UTF-8 (a Latin-1/cp1252 export is
refused rather than guessed at: save it as "CSV UTF-8"), rows with the wrong number of fields, an
unbalanced quote, a field over the csv module's size limit, a row without a file or person id, a
file listed twice with different ids, and a file that lies outside the data folder (`..`, an
absolute path, or a symbolic link leading out). Absolute paths are accepted only where the caller
allows them (a CSV the user named with `--gt`, such as reid-train's holdout.csv), and then as given.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from reid_desktop.core.names import display_name

log = logging.getLogger(__name__)
GT_NAME = "ground_truth.csv"
REQUIRED = ("file", "person_id")
MAX_BYTES = 512 * 1024 * 1024


class GroundTruthError(ValueError):
    """A ground-truth CSV that cannot be used; str(exc) is one line: file, row and reason."""

    def __init__(self, path: Path, reason: str, row: int | None = None) -> None:
        self.path, self.reason, self.row = path, reason, row
        where = f"row {row}: " if row is not None else ""
        super().__init__(display_name(f"{path}: {where}{reason}"))


@dataclass(frozen=True)
class GroundTruthRow:
    row: int  # the row in the file (header = 1)
    file: str  # as written in the CSV
    path: Path  # absolute and normalised, symbolic links not resolved (as the scan lists files)
    person_id: str
    camera: str | None  # the `camera` column, when there is one and the cell is not empty


def read_ground_truth(
    csv_path: Path, data_dir: Path | None = None, *, absolute_ok: bool = False
) -> list[GroundTruthRow]:
    """Every row of `csv_path`, files resolved against `data_dir` (default: the CSV's folder)."""
    csv_path = Path(csv_path)
    text = _text(csv_path)
    root = Path(os.path.normpath(Path(data_dir if data_dir is not None else csv_path.parent).absolute()))
    return _Rows(csv_path, root, absolute_ok).parse(text)


def _text(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise GroundTruthError(path, f"cannot read it: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise GroundTruthError(path, f"larger than {MAX_BYTES // 2**20} MiB; not a ground-truth table")
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        row = raw[: exc.start].count(b"\n") + 1
        reason = (
            f"not UTF-8 text (byte 0x{raw[exc.start]:02X}; a Latin-1 or Windows export?); "
            "save it as UTF-8 (Excel: CSV UTF-8)"
        )
        raise GroundTruthError(path, reason, row) from None
    if not text.strip():
        raise GroundTruthError(path, "empty file; expected a header row file,person_id and a row per crop")
    return text


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class _Rows:
    def __init__(self, csv_path: Path, root: Path, absolute_ok: bool) -> None:
        self.csv_path, self.root, self.absolute_ok = csv_path, root, absolute_ok
        self.real_root = os.path.realpath(root)
        self._real_dirs: dict[str, str] = {}

    def fail(self, reason: str, row: int | None = None) -> GroundTruthError:
        return GroundTruthError(self.csv_path, reason, row)

    def parse(self, text: str) -> list[GroundTruthRow]:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        records: list[tuple[int, list[str]]] = []
        while True:
            start = reader.line_num + 1
            try:
                rec = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise self.fail(_csv_reason(exc), start) from None
            if reader.line_num > start:
                raise self.fail("a quoted field runs over several lines (unbalanced quote?)", start)
            if len(rec) > 1 or (rec and rec[0].strip()):  # blank lines are skipped
                records.append((start, rec))
        if not records:
            raise self.fail("no header and no rows")
        header_row, header = records[0]
        cols = self._columns(header_row, header)
        out: dict[str, GroundTruthRow] = {}
        for row, rec in records[1:]:
            item = self._row(row, rec, cols, len(header))
            key = str(item.path)
            first = out.get(key)
            if first is None:
                out[key] = item
            elif (first.person_id, first.camera) != (item.person_id, item.camera):
                what, new, old = "person_id", item.person_id, first.person_id
                if new == old:
                    what, new, old = "camera", item.camera, first.camera
                raise self.fail(
                    f"{item.file} is listed again (first at row {first.row}) with {what} {new} "
                    f"instead of {old}",
                    row,
                )
        if not out:
            raise self.fail("lists no crops (a header and no rows)")
        return list(out.values())

    def _columns(self, row: int, header: list[str]) -> dict[str, int]:
        names = [h.strip().lower() for h in header]
        shown = ",".join(header)[:80]
        if not set(REQUIRED) <= set(names):
            line = ",".join(header)
            if ";" in line or "\t" in line:
                sep = "';'" if ";" in line else "tabs"
                raise self.fail(f"columns are separated by {sep}; use commas (file,person_id)", row)
            if any(Path(h.strip()).suffix for h in header):
                raise self.fail(f"no header row: the first row must be file,person_id (found {shown!r})", row)
            raise self.fail(f"the header must name the columns file and person_id (found {shown!r})", row)
        for name in {*REQUIRED, "camera"}:
            if names.count(name) > 1:
                raise self.fail(f"the header names the column {name!r} twice", row)
        return {n: i for i, n in enumerate(names)}

    def _row(self, row: int, rec: list[str], cols: dict[str, int], width: int) -> GroundTruthRow:
        if len(rec) != width:
            hint = "; quote file names that contain commas" if len(rec) > width else ""
            raise self.fail(f"{len(rec)} field(s) where the header has {width}{hint}", row)
        file = rec[cols["file"]].strip()
        pid = rec[cols["person_id"]].strip()
        cam = rec[cols["camera"]].strip() if "camera" in cols else ""
        if not file:
            raise self.fail("no file name", row)
        if not pid:
            raise self.fail(f"no person_id for {file}", row)
        return GroundTruthRow(row, file, self._path(row, file), pid, cam or None)

    def _path(self, row: int, file: str) -> Path:
        if "\x00" in file:
            raise self.fail("the file name contains a NUL character", row)
        if os.path.isabs(file):
            if not self.absolute_ok:
                raise self.fail(f"{file} is an absolute path; name files relative to {self.root}", row)
            return Path(os.path.normpath(file))
        path = os.path.normpath(os.path.join(self.root, file))
        if not _inside(path, str(self.root)):
            raise self.fail(f"{file} points outside the data folder {self.root}", row)
        real = self._realpath(path)
        if not _inside(real, self.real_root):
            raise self.fail(f"{file} leads through a symbolic link to {real}, outside the data folder", row)
        return Path(path)

    def _realpath(self, path: str) -> str:
        """os.path.realpath, with the folders cached (a CSV lists thousands of files per folder)."""
        folder, name = os.path.split(path)
        if folder not in self._real_dirs:
            self._real_dirs[folder] = os.path.realpath(folder)
        joined = os.path.join(self._real_dirs[folder], name)
        return os.path.realpath(joined) if os.path.islink(joined) else joined


class FolderLabels:
    """Person ids for ingest from a `ground_truth.csv` in a camera folder or in its parent.

    Each file is read once per scan, with its own folder as the data folder; a file with a problem
    gives no label at all and one line in `warnings` (the scan goes on without labels).
    """

    def __init__(self) -> None:
        self.warnings: list[str] = []
        self._read: dict[Path, dict[Path, str]] = {}

    def for_camera(self, camera_root: Path) -> dict[Path, str]:
        out: dict[Path, str] = {}
        for base in (camera_root.parent, camera_root):  # the camera's own file wins
            csv_path = base / GT_NAME
            if not csv_path.is_file():
                continue
            if csv_path not in self._read:
                try:
                    rows = read_ground_truth(csv_path, base)
                    self._read[csv_path] = {r.path: r.person_id for r in rows}
                except GroundTruthError as exc:
                    log.info("labels not applied: %s", exc)
                    self._read[csv_path] = {}
                    self.warnings.append(f"{exc}; no labels were read from it")
            out.update(self._read[csv_path])
        return out


def _csv_reason(exc: csv.Error) -> str:
    msg = str(exc)
    if "field larger than field limit" in msg:
        return f"a field is longer than {csv.field_size_limit():,} characters"
    if "unexpected end of data" in msg:
        return "unbalanced quote: a quoted field is never closed"
    return f"not valid CSV ({msg})"
