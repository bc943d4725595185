"""Issue 8, item 5: a bad ground_truth.csv is refused in one line by every front end, all or nothing.

Each case of `badcsv.CASES` goes through `reid eval`, `reid-train --data` and `reid ingest` (in
process): no traceback, the file and the row named, exit 1 / an error event, and for ingest the
crops scanned with no label applied (a warning line says why).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.badcsv import CASES, labelled_folder, write_bad_csv
from helpers.onnx_factory import tiny_encoder

from reid_desktop.cli import main as reid_main
from reid_desktop.store import Project


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return tiny_encoder(tmp_path_factory.mktemp("gt-model") / "tiny.onnx")


@pytest.fixture(params=CASES)
def bad(request, tmp_path: Path):
    root = tmp_path / "data"
    files = labelled_folder(root)
    row, reason = write_bad_csv(root, request.param, files)
    return root, row, reason


def assert_one_line_naming(message: str, root: Path, row: int | None, reason: str) -> None:
    assert "Traceback" not in message
    assert str(root / "ground_truth.csv") in message
    if row is not None:
        assert f"row {row}:" in message
    assert reason.lower() in message.lower()


def test_reid_eval_refuses_in_one_line(bad, model, capsys):
    root, row, reason = bad
    rc = reid_main(["eval", "--model", str(model), "--data", str(root)])
    out, err = capsys.readouterr()
    assert rc == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("reid: error: "), err
    assert_one_line_naming(lines[0], root, row, reason)
    assert "Traceback" not in out


def test_reid_train_refuses_with_an_error_event(bad, tmp_path, capsys):
    from reid_desktop.core.training.events import parse_line
    from trainer.cli import main as train_main

    root, row, reason = bad
    out_dir = tmp_path / "out"
    rc = train_main(["--data", str(root), "--init", "bignet", "--epochs", "1", "--out", str(out_dir)])
    out, err = capsys.readouterr()
    events = [e for e in map(parse_line, out.splitlines()) if e is not None]
    assert rc != 0
    assert [e.type for e in events] == ["error"]
    assert_one_line_naming(events[0]["message"], root, row, reason)
    assert "Traceback" not in err
    assert not out_dir.exists()


def test_ingest_scans_crops_applies_no_label_and_warns(bad, tmp_path, capsys):
    root, row, reason = bad
    proj = tmp_path / "p.reidproj"
    rc = reid_main(["ingest", str(proj), str(root)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "Traceback" not in out + err
    warnings = [line for line in out.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1, out
    assert_one_line_naming(warnings[0], root, row, reason)
    with Project.open(proj) as p:
        crops = p.crops.all()
        assert len(crops) >= 16
        assert [c.rel_path for c in crops if c.gt_person is not None] == []


def test_good_csv_variants_are_read(tmp_path: Path):
    from reid_desktop.core.ingest.ground_truth import read_ground_truth

    root = tmp_path / "data"
    files = labelled_folder(root)
    text = "\ufeffFile,Camera,Person_ID\r\n" + "".join(f'"{f}",{f[3]},{f[6]}\r\n' for f in files)
    text += f"\r\n./{files[0]},1,0\r\n"  # a blank line, and the same file again with the same id
    (root / "ground_truth.csv").write_text(text, encoding="utf-8")
    rows = read_ground_truth(root / "ground_truth.csv", root)
    assert len(rows) == len(files)
    assert {r.path for r in rows} == {root / f for f in files}
    assert (rows[0].person_id, rows[0].camera, rows[0].row) == ("0", "1", 2)


def test_absolute_paths_only_where_the_caller_allows(tmp_path: Path):
    from reid_desktop.core.ingest.ground_truth import GroundTruthError, read_ground_truth

    root = tmp_path / "data"
    files = labelled_folder(root)
    gt = tmp_path / "holdout.csv"
    gt.write_text("file,person_id\n" + "".join(f"{root / f},{f[6]}\n" for f in files))
    with pytest.raises(GroundTruthError, match="row 2: .* is an absolute path"):
        read_ground_truth(gt, root)
    assert len(read_ground_truth(gt, tmp_path / "elsewhere", absolute_ok=True)) == len(files)


def test_error_message_is_one_line_even_for_hostile_names(tmp_path: Path):
    from reid_desktop.core.ingest.ground_truth import GroundTruthError, read_ground_truth

    gt = tmp_path / "ground_truth.csv"
    gt.write_text('file,person_id\n"a\x1b[31m.jpg",1\n"a\x1b[31m.jpg",2\n', encoding="utf-8")
    with pytest.raises(GroundTruthError) as exc:
        read_ground_truth(gt)
    assert "\x1b" not in str(exc.value) and "\\x1b[31m" in str(exc.value)
    assert "row 3:" in str(exc.value)


def test_pku_ground_truth_is_read_whole(pku):
    from reid_desktop.core.ingest.ground_truth import read_ground_truth

    rows = read_ground_truth(pku / "ground_truth.csv", pku)
    assert len(rows) == 800 and all(r.path.is_file() for r in rows)
    assert json.dumps(sorted({r.camera for r in rows})) == '["1", "2"]'
