"""What an operator states about a foreign encoder's preprocessing, turned into a `Preprocess`.

The Import dialog and `reid import-model` both build `PreprocessOptions`; the importer resolves
them against the model with `resolve_preprocess`, the one place that decides what a field the
operator left unset means:
- size: the model's own fixed input size; 256×128 (with a warning) only where the model does not
  fix it;
- mean and std: ImageNet's statistics for the chosen scale, in the chosen channel order;
- colour order and scale: RGB, pixels ÷ 255.
Stated values are kept exactly, so a wrong guess is never silently replaced by a default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reid_desktop.core.encoders.contract import IMAGENET_MEAN, IMAGENET_STD, ContractError, Preprocess

Triple = tuple[float, float, float]
SCALES = (255.0, 1.0)  # pixels ÷ 255 (0–1 input) or raw 0–255 pixels
DEFAULT_SIZE = (Preprocess.height, Preprocess.width)
SIZE_HELP = "size is HEIGHTxWIDTH, e.g. 256x128"


@dataclass(frozen=True)
class PreprocessOptions:
    rgb: bool = True  # False: the model expects BGR
    scale: float = 255.0  # pixels are divided by this before mean/std
    mean: Triple | None = None  # in the model's channel order; None: ImageNet's
    std: Triple | None = None
    size: tuple[int, int] | None = None  # (height, width); None: the model's own input size

    @classmethod
    def stating(cls, p: Preprocess) -> PreprocessOptions:
        """Every field stated, as in a complete `Preprocess`."""
        return cls(p.rgb, p.scale, tuple(p.mean), tuple(p.std), (p.height, p.width))


def channel_names(rgb: bool) -> str:
    return "R G B" if rgb else "B G R"


def default_stats(rgb: bool, scale: float) -> tuple[Triple, Triple]:
    """ImageNet's mean and std for pixels ÷ scale, listed in the model's channel order."""
    k = 255.0 / scale
    mean = tuple(round(m * k, 6) for m in IMAGENET_MEAN)
    std = tuple(round(s * k, 6) for s in IMAGENET_STD)
    return (mean, std) if rgb else (mean[::-1], std[::-1])


def resolve_preprocess(
    options: PreprocessOptions | Preprocess | None, model_size: tuple[int, int] = (0, 0)
) -> tuple[Preprocess, list[str]]:
    """The `Preprocess` to record, and warnings. model_size is the model's fixed (H, W); 0 = free."""
    o = options if isinstance(options, PreprocessOptions) else None
    if isinstance(options, Preprocess):
        o = PreprocessOptions.stating(options)
    o = o or PreprocessOptions()
    if not o.scale > 0:
        raise ContractError("scale must be positive")
    fixed_h, fixed_w = model_size
    warnings: list[str] = []
    if o.size is not None:
        h, w = o.size
        if (fixed_h and h != fixed_h) or (fixed_w and w != fixed_w):
            raise ContractError(
                f"the preprocessing says {h}×{w} but the model's input is fixed at "
                f"{fixed_h or '?'}×{fixed_w or '?'} (height×width)"
            )
    else:
        h, w = fixed_h or DEFAULT_SIZE[0], fixed_w or DEFAULT_SIZE[1]
        if not (fixed_h and fixed_w):
            warnings.append(f"the model does not fix its input size; assuming {h}×{w}, state it if wrong")
    mean, std = default_stats(o.rgb, o.scale)
    p = Preprocess(
        height=int(h),
        width=int(w),
        rgb=o.rgb,
        scale=float(o.scale),
        mean=tuple(float(x) for x in (o.mean or mean)),
        std=tuple(float(x) for x in (o.std or std)),
    )
    p.validate()
    return p, warnings


def parse_size(text: str) -> tuple[int, int] | None:
    """'256x128', '256×128' or '256 x 128' → (256, 128); blank → None (the model's own)."""
    text = text.strip().lower()
    if not text:
        return None
    m = re.fullmatch(r"(\d+)\s*[x×*]\s*(\d+)", text)
    if m is None:
        raise ValueError(SIZE_HELP)
    return int(m.group(1)), int(m.group(2))


def parse_triple(text: str, what: str) -> Triple | None:
    """Three numbers separated by spaces or commas; blank → None (the default)."""
    parts = [p for p in re.split(r"[\s,;]+", text.strip()) if p]
    if not parts:
        return None
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise ValueError(f"{what}: {text.strip()!r} is not three numbers") from None
    if len(values) != 3:
        raise ValueError(f"{what} needs three numbers, one per channel; got {len(values)}")
    return values


def describe(p: Preprocess) -> str:
    """One line an operator can check against the model's documentation."""
    order = "RGB" if p.rgb else "BGR"
    scale = (
        "pixels ÷ 255"
        if p.scale == 255
        else ("raw 0–255 pixels" if p.scale == 1 else f"pixels ÷ {p.scale:g}")
    )
    mean = " ".join(f"{v:g}" for v in p.mean)
    std = " ".join(f"{v:g}" for v in p.std)
    return f"{order} {p.height}×{p.width}, {scale}, mean {mean}, std {std}"
