"""Encoder throughput on the same model (the default MobileNetV2 encoder): onnxruntime fp32 and
static int8 (QDQ, per-channel) against PyTorch eager, at batch 1 and 32, images/s. Ratios are
against torch eager measured in the same run.

    python bench/bench_encoder.py [--seconds 8]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from PIL import Image

from reid_desktop.core.encoders.defaults import default_encoder_path
from reid_desktop.core.encoders.quantize import quantize_int8
from trainer.export import load_checkpoint

PKU = Path(__file__).resolve().parents[2] / "shared" / "data" / "pku-reid-dev" / "cam1"


def rate(fn, batch: int, seconds: float) -> float:
    fn()  # warm-up
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        n += batch
    return n / (time.perf_counter() - t0)


def calibration_crops(tmp: Path) -> list[Path]:
    if PKU.is_dir():
        return sorted(PKU.glob("*.jpg"))[:100]
    rng = np.random.default_rng(0)
    out = []
    for i in range(60):
        p = tmp / f"c{i}.jpg"
        Image.fromarray(rng.integers(0, 255, (128, 48, 3), dtype=np.uint8)).save(p)
        out.append(p)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=8.0)
    args = ap.parse_args()
    fp32 = default_encoder_path()
    torch.set_num_threads(torch.get_num_threads())
    model = load_checkpoint(fp32.with_suffix(".pt")).eval()
    with tempfile.TemporaryDirectory() as tmp:
        int8 = quantize_int8(fp32, Path(tmp) / "int8.onnx", calibration_crops(Path(tmp)))
        so = ort.SessionOptions()
        sessions = {
            name: ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
            for name, path in (("onnxruntime fp32", fp32), ("onnxruntime int8", int8))
        }
        print(
            f"model: {fp32.name} (int8 copy {int8.stat().st_size / 1e6:.1f} MB vs "
            f"{fp32.stat().st_size / 1e6:.1f} MB); threads: {torch.get_num_threads()}"
        )
        for batch in (1, 32):
            x = np.random.default_rng(0).normal(size=(batch, 3, 256, 128)).astype(np.float32)
            xt = torch.from_numpy(x)

            def eager():
                with torch.inference_mode():
                    model(xt)

            base = rate(eager, batch, args.seconds)
            print(f"batch {batch:>2}: torch eager {base:7.1f} img/s (1.00x)")
            for name, sess in sessions.items():
                r = rate(lambda s=sess: s.run(None, {"images": x}), batch, args.seconds)
                print(f"batch {batch:>2}: {name} {r:7.1f} img/s ({r / base:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
