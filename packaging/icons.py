"""Render resources/icons/reid-desktop.svg into the icon files installers want: reid-desktop.ico
(Windows, 16-256 px) and reid-desktop.icns (macOS, 16-1024 px), with Qt's SVG renderer
(offscreen) and Pillow. `python packaging/icons.py OUT_DIR`; the spec picks them up from
build/icons when it builds on Windows or macOS."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

from PIL import Image

SVG = Path(__file__).resolve().parent.parent / "resources" / "icons" / "reid-desktop.svg"
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (16, 32, 64, 128, 256, 512, 1024)


def render_png(svg: Path, size: int) -> Image.Image:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 (Qt needs one to paint)
    image = QImage(size, size, QImage.Format_ARGB32)
    image.fill(Qt.transparent)
    painter = QPainter(image)
    QSvgRenderer(str(svg)).render(painter)
    painter.end()
    buf = QBuffer()
    buf.open(QIODevice.WriteOnly)
    image.save(buf, "PNG")
    return Image.open(io.BytesIO(bytes(buf.data()))).convert("RGBA")


def render(out: Path, svg: Path = SVG) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    big = render_png(svg, 1024)
    ico, icns = out / "reid-desktop.ico", out / "reid-desktop.icns"
    big.save(ico, sizes=[(s, s) for s in ICO_SIZES])
    big.save(icns, sizes=[(s, s) for s in ICNS_SIZES])
    return {"ico": ico, "icns": icns}


if __name__ == "__main__":
    for kind, path in render(Path(sys.argv[1] if len(sys.argv) > 1 else "build/icons")).items():
        print(f"{kind}: {path}")
