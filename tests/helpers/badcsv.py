"""Ground-truth CSVs as real exports get them wrong, for the fault-injection suite.

`labelled_folder(root)` writes two camera folders of synthetic crops; `write_bad_csv(root, case)`
writes `root/ground_truth.csv` listing every crop correctly except for one bad row near the end
(so a reader that applies rows until it fails would label most crops) and returns the row number
the refusal must name (None where no row applies) and a substring of the reason.
"""

from __future__ import annotations

import os
from pathlib import Path

from helpers.synth import person_crop

HEADER = "file,person_id,camera,orientation"
PEOPLE, PER_CAM = 4, 2
CASES = (
    "short_row",
    "unbalanced_quote",
    "commas_only",
    "huge_field",
    "empty",
    "no_header",
    "wrong_header",
    "semicolons",
    "latin1",
    "conflicting_duplicate",
    "dotdot",
    "absolute",
    "symlink_out",
)


def labelled_folder(root: Path) -> list[str]:
    """cam1/ and cam2/ with PEOPLE people x PER_CAM crops each; returns their rel paths."""
    files = []
    for cam, seed in (("cam1", 1), ("cam2", 2)):
        (root / cam).mkdir(parents=True, exist_ok=True)
        for p in range(PEOPLE):
            for v in range(PER_CAM):
                name = f"{cam}/p{p}_{v}.jpg"
                person_crop(p, v, seed=seed).save(root / name, quality=92)
                files.append(name)
    return files


def good_rows(files: list[str]) -> list[str]:
    return [f"{f},{f.split('/')[1][1]},{f.split('/')[0][-1]},1" for f in files]


def write_bad_csv(root: Path, case: str, files: list[str]) -> tuple[int | None, str]:
    """Write root/ground_truth.csv for `case`; returns (row the error must name, reason substring)."""
    rows = [HEADER, *good_rows(files)]
    bad_at = len(rows)  # 0-based index of the bad row: the last but one row of the file
    expect = ""
    if case == "short_row":
        rows.insert(bad_at, "cam1/p0_0.jpg")
        expect = "field"
    elif case == "unbalanced_quote":
        rows.insert(bad_at, '"cam1/p0_0.jpg,0,1,1')
        expect = "quote"
    elif case == "commas_only":
        rows.insert(bad_at, ",,,")
        expect = "no file name"
    elif case == "huge_field":
        rows.insert(bad_at, "cam1/" + "x" * 200_000 + ".jpg,0,1,1")
        expect = "longer than"
    elif case == "empty":
        (root / "ground_truth.csv").write_bytes(b"")
        return None, "empty"
    elif case == "no_header":
        rows = rows[1:]
        bad_at, expect = 0, "header"
    elif case == "wrong_header":
        rows[0] = "image,identity,cam,orientation"
        bad_at, expect = 0, "file and person_id"
    elif case == "semicolons":
        rows = [r.replace(",", ";") for r in rows]
        bad_at, expect = 0, "';'"
    elif case == "latin1":
        person_crop(9, 0, seed=1).save(root / "cam1" / "café.jpg", quality=92)
        rows.insert(bad_at, "cam1/café.jpg,9,1,1")
        text = "\n".join(rows) + "\n"
        (root / "ground_truth.csv").write_bytes(text.encode("latin-1"))
        return bad_at + 1, "utf-8"
    elif case == "conflicting_duplicate":
        rows.insert(bad_at, f"{files[0]},3,1,1")
        expect = "row 2"
    elif case == "dotdot":
        rows.insert(bad_at, "../../../../etc/passwd,1,1,1")
        expect = "outside"
    elif case == "absolute":
        rows.insert(bad_at, "/etc/passwd,1,1,1")
        expect = "absolute"
    elif case == "symlink_out":
        outside = root.parent / f"{root.name}-elsewhere.jpg"
        person_crop(9, 1, seed=1).save(outside, quality=92)
        os.symlink(outside, root / "cam1" / "link.jpg")
        rows.insert(bad_at, "cam1/link.jpg,9,1,1")
        expect = "symbolic link"
    else:
        raise ValueError(case)
    (root / "ground_truth.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return bad_at + 1, expect
