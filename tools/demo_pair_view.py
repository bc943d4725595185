"""Render the pair view with synthetic crops to a PNG (offscreen).

python -m tools.demo_pair_view OUT.png [--size 960x600] [--k 8] [--highlight 3,3]
                                                  [--no-matrix] [--empty]
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication


def _person(width: int, jacket: tuple[int, int, int], bag: bool, seed: int) -> Image.Image:
    """A 128 px tall person-like crop: head, torso, arms, optional bag, legs, shoes."""
    rng = np.random.default_rng(seed)
    h, w = 128, width
    bg = rng.integers(0, 18, (h, w, 3)) + np.array([150, 152, 148])
    img = Image.fromarray(bg.astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)
    cx = w // 2
    d.rectangle([0, 112, w, h], fill=(120, 118, 112))  # floor
    d.ellipse([cx - 7, 5, cx + 7, 22], fill=(224, 182, 150))  # face
    d.chord([cx - 8, 3, cx + 8, 17], 180, 360, fill=(55, 38, 28))  # hair
    d.rectangle([cx - 3, 21, cx + 3, 25], fill=(210, 170, 140))  # neck
    d.rounded_rectangle([cx - 13, 24, cx + 13, 66], 4, fill=jacket)  # torso
    d.rectangle([cx - 17, 27, cx - 12, 62], fill=tuple(int(c * 0.8) for c in jacket))  # arms
    d.rectangle([cx + 12, 27, cx + 17, 62], fill=tuple(int(c * 0.8) for c in jacket))
    d.ellipse([cx - 17, 61, cx - 12, 67], fill=(224, 182, 150))  # hands
    d.ellipse([cx + 12, 61, cx + 17, 67], fill=(224, 182, 150))
    if bag:
        d.line([cx - 12, 26, cx + 14, 56], fill=(60, 40, 20), width=2)  # strap
        d.rounded_rectangle([cx + 10, 50, cx + 22, 66], 2, fill=(120, 78, 40))  # bag
    d.rectangle([cx - 11, 66, cx - 1, 110], fill=(40, 52, 92))  # legs
    d.rectangle([cx + 1, 66, cx + 11, 110], fill=(40, 52, 92))
    d.rectangle([cx - 13, 108, cx - 1, 114], fill=(30, 30, 30))  # shoes
    d.rectangle([cx + 1, 108, cx + 13, 114], fill=(30, 30, 30))
    return img


def _qimage(img: Image.Image) -> QImage:
    data = img.tobytes()
    return QImage(data, img.width, img.height, 3 * img.width, QImage.Format_RGB888).copy()


def demo_images() -> tuple[QImage, QImage]:
    query = _person(48, (196, 44, 48), bag=True, seed=1)
    cand = _person(56, (176, 50, 52), bag=False, seed=2)  # other camera: no bag, dimmer, wider box
    cand = ImageEnhance.Brightness(cand).enhance(0.82)
    return _qimage(query), _qimage(cand)


def demo_matrix(k: int = 8, low: int = 3, seed: int = 0) -> np.ndarray:
    """Same person: diagonal ≈ 0.6, one low stripe (the bag), off-diagonal ≈ 0.0–0.3."""
    rng = np.random.default_rng(seed)
    m = rng.uniform(-0.08, 0.18, (k, k))
    for i in range(k):
        for j in range(k):
            if abs(i - j) == 1:
                m[i, j] += 0.15  # neighbouring stripes overlap a little
    m[np.diag_indices(k)] = rng.uniform(0.55, 0.68, k)
    if 0 <= low < k:
        m[low, low] = 0.1
    return m.round(3)


def build(
    size: tuple[int, int],
    k: int = 8,
    highlight: tuple[int, int] | None = (3, 3),
    with_matrix: bool = True,
    empty: bool = False,
):
    from reid_desktop.ui.review.pair_view import PairView

    view = PairView()
    view.resize(*size)
    if not empty:
        q, c = demo_images()
        view.set_pair(
            q,
            c,
            demo_matrix(k, low=min(3, k - 1)) if with_matrix else None,
            "lobby/0042_c1_f000317.jpg",
            "car park/0042_c2_f001204.jpg",
            "P(same) 0.91 \u00b7 cosine 0.74",
        )
    view.show()
    QApplication.processEvents()
    if highlight is not None:
        view.highlight(*highlight)
    QApplication.processEvents()
    return view


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.demo_pair_view")
    ap.add_argument("out", help="PNG to write")
    ap.add_argument("--size", default="960x600", help="WIDTHxHEIGHT (default 960x600)")
    ap.add_argument("--k", type=int, default=8, help="stripes (default 8)")
    ap.add_argument("--highlight", default="3,3", help="i,j to outline, or 'none'")
    ap.add_argument("--no-matrix", action="store_true", help="a model without stripe features")
    ap.add_argument("--empty", action="store_true", help="nothing selected")
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    hi = None if args.highlight == "none" else tuple(int(v) for v in args.highlight.split(","))
    app = QApplication.instance() or QApplication([])
    view = build((w, h), args.k, hi, not args.no_matrix, args.empty)
    ok = view.grab().save(args.out)
    view.close()
    app.processEvents()
    print(args.out if ok else f"could not write {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
