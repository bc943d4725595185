"""Issue 8, item 4: a damaged image is refused by the scan or decodes at every later use.

Byte-flipped PNGs used to pass the scan (PNG `getexif()` runs `load()` and PIL swallows its
error, after which a second `load()` is a no-op) and then failed at every embed.
"""

from __future__ import annotations

import random
from pathlib import Path

from helpers.badfiles import jpeg_bytes, png_bytes
from helpers.onnx_factory import tiny_encoder
from helpers.synth import person_crop

from faults.conftest import trials
from reid_desktop.core.encoders.contract import Preprocess
from reid_desktop.core.encoders.embed import embed_project
from reid_desktop.core.encoders.preprocess import to_tensor
from reid_desktop.core.encoders.registry import open_encoder, register_encoder
from reid_desktop.core.imaging import BadImage, load_rgb, probe
from reid_desktop.core.ingest.scan import ingest
from reid_desktop.core.jobs import run_job


def damaged(kind: str, rng: random.Random) -> bytes:
    """A small crop as PNG or JPEG, then truncated or with 1-8 random bits flipped."""
    img = person_crop(rng.randrange(20), rng.randrange(5), seed=rng.randrange(3))
    data = bytearray(png_bytes(img) if kind == "png" else jpeg_bytes(img))
    if rng.random() < 0.3:
        return bytes(data[: rng.randrange(len(data) // 4, len(data))])
    for _ in range(rng.randint(1, 8)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return bytes(data)


def test_every_accepted_damaged_image_decodes_for_the_encoder():
    rng = random.Random("corrupt-crops")
    n = trials(50)
    for kind in ("png", "jpg"):
        refused = broken = 0
        for i in range(n):
            data = damaged(kind, rng)
            try:
                info = probe(data)
            except BadImage as exc:
                assert str(exc) and "\n" not in str(exc)
                refused += 1
                continue
            try:
                img = load_rgb(data)
                x = to_tensor([img], Preprocess())
            except Exception as exc:  # noqa: BLE001 - any failure here is the bug
                broken += 1
                print(f"{kind} trial {i}: accepted by probe, then {type(exc).__name__}: {exc}")
                continue
            assert img.mode == "RGB" and img.size == (info.width, info.height)
            assert x.shape == (1, 3, 256, 128)
        assert broken == 0, f"{broken} of {n - refused} accepted {kind} files fail to decode"
        assert refused > 0  # the damage is real: some files must be refused


def test_scan_stores_no_crop_that_then_fails_to_embed(project, tmp_path: Path):
    rng = random.Random("corrupt-ingest")
    folder = tmp_path / "cam1"
    folder.mkdir()
    n = trials(50)
    for i in range(n):
        kind = ("png", "jpg")[i % 2]
        (folder / f"d{i:04d}.{kind}").write_bytes(damaged(kind, rng))
    report = run_job(ingest(project, [folder]))
    assert report.added + len(report.skipped) == n
    assert report.added > 0 and report.skipped
    model = register_encoder(project, tiny_encoder(tmp_path / "tiny.onnx"), "tiny")
    emb = run_job(embed_project(project, model.id, open_encoder(model)))
    assert emb.failed == [], f"stored crops that cannot be embedded: {emb.failed[:3]}"
    assert emb.encoded == report.added
