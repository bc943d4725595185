"""A camera folder full of what real exports contain: broken, odd, hostile and merely unusual files.

`make_bad_folder(folder)` writes the files and returns {rel_path: expected reason substring} for
every file the scanner must refuse. `ACCEPTED` lists the rel paths it must ingest, and `IGNORED`
the files it must neither ingest nor report.
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from helpers.synth import person_crop

# Plain valid crops; named so they sort before "copy_of_x.jpg" (the duplicate must come second).
VALID = ("a_valid_0.jpg", "a_valid_1.jpg", "a_valid_2.jpg")
DUPLICATE_OF = "a_valid_0.jpg"
EXIF_ROTATED = "exif_rotated.jpg"
EXIF_SIZE = (40, 100)  # as stored; shown (and recorded) as 100x40 after orientation 6
GREY16 = "grey16.png"
CMYK = "cmyk.jpg"
RGBA = "rgba.png"
PALETTE = "palette_alpha.png"
GREY8 = "grey8.png"
JPEG_AS_PNG = "really_a_jpeg.png"
UNICODE_NAME = "café crop ü.jpg"
UNICODE_SUBDIR = "dir with space/ß.jpg"

ACCEPTED = (
    *VALID,
    EXIF_ROTATED,
    GREY16,
    CMYK,
    RGBA,
    PALETTE,
    GREY8,
    JPEG_AS_PNG,
    UNICODE_NAME,
    UNICODE_SUBDIR,
)
IGNORED = ("readme.txt",)

# The non-UTF-8 name as Python lists it (surrogate-escaped); reports may show it escaped.
NON_UTF8_NAME = os.fsdecode(b"bad\xff.jpg")


def noisy_image(size: tuple[int, int], seed: int, mode: str = "RGB") -> Image.Image:
    w, h = size
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    return Image.fromarray(arr, "RGB").convert(mode)


def jpeg_bytes(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, **kw)
    return buf.getvalue()


def png_bytes(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", **kw)
    return buf.getvalue()


def bomb_png(width: int = 30000, height: int = 30000) -> bytes:
    """A tiny valid PNG whose IHDR is patched to claim width x height (CRC recomputed)."""
    data = bytearray(png_bytes(Image.new("L", (8, 8), 0)))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF  # chunk type + 13 data bytes
    data[29:33] = struct.pack(">I", crc)
    return bytes(data)


def exif_rotated_jpeg() -> bytes:
    img = noisy_image(EXIF_SIZE, seed=11)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    return jpeg_bytes(img, exif=exif.tobytes())


def grey16_png() -> bytes:
    w, h = 32, 80
    arr = np.zeros((h, w), dtype=np.uint16)
    arr[: h // 2] = 65535  # top half white
    arr[h // 2 :] = np.linspace(0, 65535, w, dtype=np.uint16)[None, :]
    img = Image.fromarray(arr)
    assert img.mode == "I;16"
    return png_bytes(img)


CMYK_RGB = (200, 40, 40)  # the colour the CMYK crop must load as


def cmyk_jpeg() -> bytes:
    arr = np.zeros((80, 32, 3), dtype=np.uint8)
    arr[:] = CMYK_RGB
    return jpeg_bytes(Image.fromarray(arr, "RGB").convert("CMYK"))


def garbage_scan_jpeg(seed: int) -> bytes:
    """A JPEG whose headers (through SOS) are intact but whose entropy-coded data is garbage."""
    good = jpeg_bytes(noisy_image((64, 160), seed=15))
    start = good.index(b"\xff\xda") + 14  # SOS marker + its 12-byte segment for 3 components
    n = (len(good) - 2 - start) // 2
    garbage = np.random.default_rng(seed).integers(0, 256, size=n, dtype=np.uint8).tobytes()
    return good[:start] + garbage + good[start + n :]


def rgba_png() -> bytes:
    arr = np.zeros((80, 32, 4), dtype=np.uint8)
    arr[..., 0] = 255  # red...
    arr[:40, :, 3] = 255  # ...opaque on top, fully transparent below
    return png_bytes(Image.fromarray(arr, "RGBA"))


def palette_png() -> bytes:
    img = Image.new("P", (32, 80), 0)
    img.putpalette([0, 0, 255, 0, 255, 0] + [0] * (256 * 3 - 6))
    img.paste(1, (0, 0, 32, 40))  # green top, index-0 (transparent blue) bottom
    return png_bytes(img, transparency=0)


def make_bad_folder(folder: Path) -> dict[str, str]:
    """Fill `folder` with valid, odd and bad files; returns {rel_path: reason substring} of the
    refused ones (several substrings allowed as "a|b")."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(VALID):
        person_crop(i, 0, seed=5).save(folder / name, quality=92)
    shutil.copyfile(folder / DUPLICATE_OF, folder / "copy_of_x.jpg")

    # Accepted oddities.
    (folder / EXIF_ROTATED).write_bytes(exif_rotated_jpeg())
    (folder / GREY16).write_bytes(grey16_png())
    (folder / CMYK).write_bytes(cmyk_jpeg())
    (folder / RGBA).write_bytes(rgba_png())
    (folder / PALETTE).write_bytes(palette_png())
    (folder / GREY8).write_bytes(png_bytes(noisy_image((32, 80), seed=13, mode="L")))
    (folder / JPEG_AS_PNG).write_bytes(jpeg_bytes(noisy_image((32, 80), seed=14)))
    person_crop(7, 1, seed=5).save(folder / UNICODE_NAME, quality=92)
    (folder / "dir with space").mkdir()
    person_crop(8, 1, seed=5).save(folder / UNICODE_SUBDIR, quality=92)

    # Refused files.
    (folder / "empty.jpg").write_bytes(b"")
    good = jpeg_bytes(noisy_image((64, 160), seed=15))
    (folder / "truncated.jpg").write_bytes(good[: int(len(good) * 0.6)])
    # Valid SOI/APP0/DQT/SOF0 header, garbage from inside the Huffman tables to near the end.
    garbage = np.random.default_rng(16).integers(0, 256, size=len(good) - 800, dtype=np.uint8)
    (folder / "corrupt.jpg").write_bytes(good[:600] + garbage.tobytes() + good[-200:])
    (folder / "notes.jpg").write_text("meeting notes, not a picture\n", encoding="utf-8")
    (folder / "bomb.png").write_bytes(bomb_png())
    (folder / "tiny.jpg").write_bytes(jpeg_bytes(noisy_image((4, 4), seed=17)))
    # AppleDouble header (magic 0x00051607, version 2) followed by padding.
    (folder / "._foo.jpg").write_bytes(struct.pack(">II", 0x00051607, 0x00020000) + bytes(74))
    os.symlink(folder / "does-not-exist.jpg", folder / "gone.jpg")
    os.symlink("loopb.jpg", folder / "loopa.jpg")
    os.symlink("loopa.jpg", folder / "loopb.jpg")
    (folder / "sub").mkdir()
    os.symlink("..", folder / "sub" / "back")
    with open(os.path.join(os.fsencode(folder), b"bad\xff.jpg"), "wb") as fh:
        fh.write(jpeg_bytes(noisy_image((32, 80), seed=18)))

    # Ignored: not image-named.
    (folder / "readme.txt").write_text("exported by CCTV suite\n", encoding="utf-8")

    return {
        "empty.jpg": "empty",
        "truncated.jpg": "truncated|corrupt",
        "corrupt.jpg": "corrupt|truncated|unreadable",
        "notes.jpg": "not an image",
        "bomb.png": "too large",
        "tiny.jpg": "too small",
        "._foo.jpg": "macos|not an image",
        "gone.jpg": "broken symbolic link",
        "loopa.jpg": "loop",
        "loopb.jpg": "loop",
        "sub/back": "loop",
        NON_UTF8_NAME: "utf-8",
        "copy_of_x.jpg": "duplicate",
    }


def reason_matches(reason: str, expected: str) -> bool:
    """Whether a skip reason contains one of the "|"-separated expected substrings."""
    return any(part.lower() in reason.lower() for part in expected.split("|"))


def same_name(reported: str, expected: str) -> bool:
    """A reported rel path names `expected`; a non-UTF-8 name may be shown escaped."""
    if reported == expected:
        return True
    if expected == NON_UTF8_NAME:
        return reported.startswith("bad") and reported.endswith(".jpg") and reported != "bad.jpg"
    return False
