"""Writing the export's files: every file goes through a temp file and a rename (complete or absent),
and each crop is re-encoded as a plain 8-bit RGB JPEG.
"""

from __future__ import annotations

import io
import os
import secrets
from pathlib import Path

from .export_plan import ExportConflict, ExportItem
from .imaging import BadImage, load_rgb

JPEG_QUALITY = 95


def write_atomic(data: bytes, dst: Path, overwrite: bool, sync: bool = False) -> None:
    """Write via a hidden temp file in dst's folder and rename, so dst is complete or absent."""
    tmp = dst.parent / f".{dst.name}.{secrets.token_hex(4)}.tmp"
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
            if sync:
                fh.flush()
                os.fsync(fh.fileno())
        if not overwrite and dst.exists():  # appeared since the plan was checked
            raise ExportConflict([dst])
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_image(item: ExportItem, overwrite: bool) -> str | None:
    """Re-encode one crop as an 8-bit RGB JPEG; returns why the source could not be read, or None."""
    try:
        img = load_rgb(item.source)  # EXIF-rotated, CMYK, 16-bit, alpha -> plain RGB
    except (BadImage, OSError) as exc:
        return str(exc)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=JPEG_QUALITY)  # no EXIF copied: pixels are already upright
    write_atomic(buf.getvalue(), item.target, overwrite)
    return None
