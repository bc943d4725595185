"""Export faults: links planted in the export folder, and a full disk.

DESIGN §7: writers never follow symlinks out of the folder the user chose; files are written to a
temp name and renamed, so a failure leaves whole files or none; refusals are one line.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from helpers.synth import make_camera_folder, person_crop
from PIL import Image

from reid_desktop.core.export import nofollow
from reid_desktop.core.export.market import (
    QUERY_DIR,
    TEST_DIR,
    ExportDiskFull,
    ExportError,
    export_market,
    plan_export,
)
from reid_desktop.core.ingest.scan import ingest
from reid_desktop.core.jobs import run_job
from reid_desktop.store import Project

from .tiny import link_identities


def tree_digest(root: Path) -> dict[str, str]:
    """Every entry under root (links not followed): name -> content hash, link target or 'dir'."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            if p.is_symlink():
                out[rel] = "-> " + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture(params=["dir-fd", "lstat"])
def linked(request, monkeypatch, project: Project, two_cameras: list[Path]) -> Project:
    """A project of 6 two-camera identities; exported with O_NOFOLLOW dir fds (Linux, macOS) and
    with the lstat checks used where the OS has no dir fds (Windows)."""
    if request.param == "lstat":
        monkeypatch.setattr(nofollow, "DIR_FD", False)
    elif not nofollow.DIR_FD:
        pytest.skip("this OS has no O_NOFOLLOW dir fds")
    run_job(ingest(project, [str(f) for f in two_cameras]))
    link_identities(project)
    return project


# --- 1. symlinks inside the export folder -----------------------------------------------------------


def plant_links(tmp_path: Path) -> tuple[Path, Path]:
    """An export folder whose query/, bounding_box_test/ and index files are links to `outside`."""
    outside = tmp_path / "elsewhere"
    (outside / "q").mkdir(parents=True)
    (outside / "g").mkdir()
    (outside / "q" / "0001_c1s1_000001_00.jpg").write_bytes(b"precious, looks like an export image")
    (outside / "g" / "notes.txt").write_text("precious")
    (outside / "something").write_text("system file\n")
    out = tmp_path / "export"
    out.mkdir()
    (out / QUERY_DIR).symlink_to(Path("..") / "elsewhere" / "q")  # relative, like `ln -s ../elsewhere`
    (out / TEST_DIR).symlink_to(outside / "g")
    (out / "identities.csv").symlink_to(outside / "something")
    (out / "decisions.json").symlink_to(outside / "not-there-yet.json")  # dangling
    return out, outside


@pytest.mark.parametrize("overwrite", [False, True])
def test_export_never_writes_through_links_in_the_folder(linked, tmp_path, overwrite):
    out, outside = plant_links(tmp_path)
    before = tree_digest(outside)
    links_before = tree_digest(out)
    with pytest.raises(ExportError) as plan_exc:
        plan_export(linked, out)
    with pytest.raises(ExportError) as exc:
        run_job(export_market(linked, out, overwrite=overwrite))
    for e in (plan_exc.value, exc.value):
        msg = str(e)
        assert "\n" not in msg and "link" in msg, msg
        assert str(out) in msg and any(n in msg for n in (QUERY_DIR, TEST_DIR, "identities.csv")), msg
    assert tree_digest(outside) == before  # nothing written, replaced or removed outside
    assert tree_digest(out) == links_before  # and the links themselves were left as they were


def test_a_link_swapped_in_after_planning_is_not_followed(linked, tmp_path):
    """The folder is checked when planning; a query/ replaced by a link before the images are
    written (a race) must still not be followed."""
    out = tmp_path / "export"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "keep.txt").write_text("precious")
    before = tree_digest(outside)
    job = export_market(linked, out)
    with pytest.raises(ExportError) as exc:
        for p in job:
            if p.message.startswith("Exporting") and p.done == 0:  # planned, no image written yet
                if (out / QUERY_DIR).is_dir():
                    (out / QUERY_DIR).rmdir()
                out.mkdir(exist_ok=True)
                (out / QUERY_DIR).symlink_to(outside)
    assert "link" in str(exc.value) and "\n" not in str(exc.value)
    assert tree_digest(outside) == before
    assert not list(out.rglob("*.tmp")) and not list(out.rglob(".*.tmp"))


# --- 2. full disk -----------------------------------------------------------------------------------

RUNNER = textwrap.dedent(
    """
    import json, os, resource, signal, sys
    from pathlib import Path
    from reid_desktop.core.export.market import ExportError, export_market
    from reid_desktop.core.jobs import run_job
    from reid_desktop.store import Project

    project_path, out, mode, limit = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    project = Project.open(project_path)
    project.crops.all()  # the project's own files are open before any limit applies
    if mode == "rlimit":
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        rep = run_job(export_market(project, out))
        res = {"ok": True, "written": rep.written}
    except ExportError as exc:
        res = {"ok": False, "type": type(exc).__name__, "message": str(exc),
               "written": getattr(exc, "written", None)}
    except OSError as exc:
        res = {"ok": False, "type": "OSError", "message": str(exc), "errno": exc.errno}
    print(json.dumps(res))
    """
)


def big_crops(folder: Path, person: int, n: int, seed: int) -> None:
    """Crops of one person that encode to > 40 kB each (noise does not compress)."""
    rng = np.random.default_rng(seed)
    for v in range(n):
        base = np.asarray(person_crop(person, v, seed).resize((160, 400)), dtype=np.int16)
        noisy = np.clip(base + rng.integers(-60, 60, base.shape), 0, 255).astype(np.uint8)
        Image.fromarray(noisy).save(folder / f"p{person:03d}_v{v}_s{seed}.jpg", quality=95)


@contextlib.contextmanager
def small_disk(path: Path, free_bytes: int):
    """A real 2 MB tmpfs at `path` filled up to `free_bytes` of free space, or None if not root."""
    path.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        yield None
        return
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(path)], capture_output=True)
    if res.returncode != 0:
        yield None
        return
    try:
        st = os.statvfs(path)
        (path / "filler").write_bytes(b"\0" * (st.f_bavail * st.f_frsize - free_bytes))
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.mark.parametrize("mode", ["tmpfs", "rlimit"])
def test_full_disk_is_one_clear_error_and_leaves_only_whole_files(tmp_path, mode):
    cams = [
        make_camera_folder(tmp_path / "cams" / "cam1", people=4, per_person=2, seed=1),
        make_camera_folder(tmp_path / "cams" / "cam2", people=4, per_person=2, seed=2),
    ]
    big_crops(cams[0], 4, 3, seed=1)  # the last identity's crops do not fit
    big_crops(cams[1], 4, 3, seed=2)
    project = Project.create(tmp_path / "p.reidproj")
    try:
        run_job(ingest(project, [str(c) for c in cams]))
        link_identities(project)
        crops = {c.id: (c.width, c.height) for c in project.crops.all()}
    finally:
        project.close()
    limit = 30_000
    with contextlib.ExitStack() as stack:
        if mode == "tmpfs":
            disk = stack.enter_context(small_disk(tmp_path / "disk", free_bytes=60_000))
            if disk is None:
                pytest.skip("mounting a tmpfs needs root; the rlimit variant covers this")
            out = disk / "export"
        else:
            if not hasattr(os, "geteuid"):
                pytest.skip("RLIMIT_FSIZE needs a POSIX system")
            out = tmp_path / "export"
        proc = subprocess.run(
            [sys.executable, "-c", RUNNER, str(tmp_path / "p.reidproj"), str(out), mode, str(limit)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "Traceback" not in proc.stderr
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        assert res["ok"] is False and res["type"] == ExportDiskFull.__name__, res
        msg = res["message"]
        assert "\n" not in msg and "disk full" in msg and str(out) in msg, msg
        # What is left: whole JPEGs only (no temp file, nothing truncated) and no index files.
        leftovers = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
        assert not [p for p in leftovers if p.endswith(".tmp") or "/." in "/" + p], leftovers
        assert "identities.csv" not in leftovers and "decisions.json" not in leftovers
        images = [out / p for p in leftovers]
        assert res["written"] == len(images)
        sizes = set(crops.values())
        for p in images:
            with Image.open(p) as img:
                img.load()  # raises on a truncated JPEG
                assert img.size in sizes
        assert f"{len(images)} of" in msg or f"{len(images)} image" in msg, msg
