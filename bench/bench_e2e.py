"""End to end: ingest + embed N synthetic crops (default 10,000) with a small encoder, then re-open
the project and time it to the first proposal (index load + similarity table + identity proposals).

    python bench/bench_e2e.py [--n 10000] [--model PATH.onnx]

Without --model the shipped default encoder (MobileNetV2, 256×128) is used, as a fresh project
does. The baseline, timed in the same run, is
decoding every crop once with PIL (the least any embedding pass must do).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_scan import baseline, make_crops  # noqa: E402

from reid_desktop.core.encoders.defaults import default_encoder_path  # noqa: E402
from reid_desktop.core.encoders.embed import embed_project  # noqa: E402
from reid_desktop.core.encoders.registry import open_encoder, register_encoder  # noqa: E402
from reid_desktop.core.ingest.scan import ingest  # noqa: E402
from reid_desktop.core.jobs import run_job  # noqa: E402
from reid_desktop.core.review.cache import prepare_review  # noqa: E402
from reid_desktop.core.review.session import ReviewSession  # noqa: E402
from reid_desktop.store import Project  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--model", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folders = make_crops(root / "crops", args.n, 4)
        t_base = baseline(folders)
        model_path = args.model
        if model_path is None:
            model_path = default_encoder_path()
        t0 = time.perf_counter()
        with Project.create(root / "e2e.reidproj") as p:
            run_job(ingest(p, [str(f) for f in folders], "folders"))
            t_ingest = time.perf_counter() - t0
            model = register_encoder(p, model_path, "bench")
            t1 = time.perf_counter()
            rep = run_job(embed_project(p, model.id, open_encoder(model)))
            t_embed = time.perf_counter() - t1
            t_q = time.perf_counter()
            run_job(prepare_review(p, model.id))  # first similarity table; cached in the project file
            t_queue = time.perf_counter() - t_q
        total = time.perf_counter() - t0
        t2 = time.perf_counter()
        with Project.open(root / "e2e.reidproj") as p:
            prep = run_job(prepare_review(p, p.active_encoder_id))
            session = ReviewSession.from_prepared(p, p.active_encoder_id, "bench", prep)
            proposal = session.current()
            t_first = time.perf_counter() - t2
            t3 = time.perf_counter()
            n_dec = 50
            for _ in range(n_dec):
                pr = session.current()
                session.mark_different(pr.candidates[0].key)
                session.current()
            t_dec = (time.perf_counter() - t3) / n_dec
    print(f"crops: {args.n}, encoder: {model_path.name} on {rep.provider}")
    print(f"baseline decode-only pass:         {t_base:.2f} s ({args.n / t_base:,.0f} crops/s)")
    print(f"ingest:                            {t_ingest:.2f} s ({args.n / t_ingest:,.0f} crops/s)")
    print(
        f"embed:                             {t_embed:.2f} s ({rep.rate:,.0f} crops/s; "
        f"{t_base / t_embed:.2f}x the decode-only baseline's speed)"
    )
    print(f"ingest + embed:                    {total:.2f} s ({args.n / total:,.0f} crops/s)")
    print(f"first similarity table (then cached): {t_queue * 1000:.0f} ms")
    print(
        f"re-open to first proposal:         {t_first * 1000:.0f} ms "
        f"({len(proposal.candidates)} candidates shown)"
    )
    print(f"decide + next proposal (mean of {n_dec}): {t_dec * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
