"""The one pixel pipeline shared by the importer, the quantiser and the encoder runtime.

Keeping it in one place matters: a model fed BGR 0..255 instead of the RGB ImageNet-normalised
input it was trained on still runs, but its embeddings collapse (OSNet R1 0.65 → 0.02 on PKU).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from reid_desktop.core.encoders.contract import Preprocess


def to_tensor(images: list[Image.Image], p: Preprocess) -> np.ndarray:
    """N×3×H×W float32 from 8-bit RGB images, following the model's `Preprocess`.

    Each image is resized to W×H (PIL bilinear), put in RGB or BGR order, then
    x = (pixel / scale − mean) / std, where mean/std are listed in the model's channel order.
    """
    out = np.empty((len(images), 3, p.height, p.width), dtype=np.float32)
    mean = np.asarray(p.mean, dtype=np.float32).reshape(3, 1, 1)
    std = np.asarray(p.std, dtype=np.float32).reshape(3, 1, 1)
    for i, img in enumerate(images):
        if img.mode != "RGB":
            img = img.convert("RGB")
        if img.size != (p.width, p.height):
            img = img.resize((p.width, p.height), Image.BILINEAR)
        chw = np.asarray(img, dtype=np.float32).transpose(2, 0, 1)
        if not p.rgb:
            chw = chw[::-1]
        out[i] = (chw / np.float32(p.scale) - mean) / std
    return out
