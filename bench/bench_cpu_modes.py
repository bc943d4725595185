"""Training-step speed of the default encoder on this CPU: fp32 vs bf16 autocast, NCHW vs
channels-last (batch 32, 256×128), measured in one run. Decides the trainer's CPU defaults."""

from __future__ import annotations

import itertools
import statistics
import sys
import time

import torch

from reid_desktop.resources import resource
from trainer.export import load_checkpoint


def step_time(model, bf16: bool, cl: bool, steps: int = 4) -> float:
    x = torch.randn(32, 3, 256, 128)
    if cl:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-5)
    times = []
    for i in range(steps + 1):
        t = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model(x)
            loss = out["bn"].float().pow(2).mean() + out["stripes"].float().pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i:
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> int:
    torch.manual_seed(0)
    base = None
    for bf16, cl in itertools.product((False, True), (False, True)):
        model = load_checkpoint(resource("models", "default-mnv2.pt")).train()
        t = step_time(model, bf16, cl)
        base = base or t
        print(f"bf16={bf16!s:5} channels_last={cl!s:5}: {t * 1000:7.0f} ms/step  ({base / t:.2f}x fp32 NCHW)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
