"""`reid-train`: fine-tune an encoder on labelled crops; JSON-lines events on stdout.

Writes DIR/encoder.onnx (encoder contract, parity-checked), DIR/checkpoint.pt (to continue from),
DIR/metrics.json and DIR/holdout.csv (the held-out crops, for `reid eval --gt`).
Everything is built in a temporary folder beside DIR and renamed at the end, so a failed,
cancelled or killed run leaves nothing half-written; the temp folder a killed run leaves is
removed by the next run in the same parent folder (`trainer.workdir`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

from reid_desktop.core.encoders.contract import Preprocess
from reid_desktop.core.training.events import EventWriter
from reid_desktop.core.training.plan import (
    DEFAULT_HOLDOUT,
    DataError,
    TrainingSet,
    from_folder,
    from_market,
    from_project,
    make_plan,
)
from reid_desktop.core.training.recipes import (
    DEFAULT_RECIPE,
    RECIPES,
    REID_START_BACKBONE_SCALE,
    REID_START_FREEZE,
)
from reid_desktop.resources import resource
from reid_desktop.version import version_text

log = logging.getLogger("reid-train")
BACKBONES = ("mobilenetv2", "resnet18", "resnet50", "osnet_x0_25", "bignet")


class TrainError(Exception):
    """A user-facing reason the run cannot go on."""


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="reid-train", description=__doc__.splitlines()[0])
    src = ap.add_argument_group("training data (one of)")
    src.add_argument("--data", type=Path, help="folder with ground_truth.csv, or a Market-1501 folder")
    src.add_argument("--gt", type=Path, help="ground-truth CSV (default DATA/ground_truth.csv)")
    src.add_argument("--layout", choices=["market"], help="DATA is a Market-1501 folder")
    src.add_argument("--project", type=Path, help="a .reidproj: its confirmed identities")
    ap.add_argument(
        "--init",
        default="default",
        help="default | MODEL.onnx (an imported encoder, or one exported by reid-train) | "
        "CHECKPOINT.pt | " + " | ".join(BACKBONES),
    )
    ap.add_argument("--weights", type=Path, help="ImageNet/torchreid weights for a bare backbone --init")
    ap.add_argument("--recipe", choices=list(RECIPES), default=DEFAULT_RECIPE)
    budget = ap.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=float, help="wall-clock budget")
    budget.add_argument("--epochs", type=int, help="number of epochs")
    budget.add_argument(
        "--cpu-minutes",
        type=float,
        help="budget in CPU minutes of this process (all its threads), for benchmarks on shared "
        "machines: 16 is 8 minutes on 2 otherwise idle cores",
    )
    ap.add_argument("--holdout-frac", type=float, default=DEFAULT_HOLDOUT)
    ap.add_argument(
        "--backbone-lr",
        type=float,
        help="the backbone's learning rate as a fraction of the heads' (default: "
        f"{REID_START_BACKBONE_SCALE} from a model that already knows re-ID, 1 from ImageNet)",
    )
    ap.add_argument(
        "--freeze",
        type=float,
        help="fraction of the backbone's parameters, from the input on, kept fixed (default: "
        f"{REID_START_FREEZE} from a model that already knows re-ID, 0 from ImageNet)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True, help="output folder (must not exist)")
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    ap.add_argument(
        "--bf16",
        choices=["auto", "on", "off"],
        default="auto",
        help="bfloat16 autocast; auto = on where the CPU has native bf16 (measured 1.6x "
        "faster per step here, bench/bench_cpu_modes.py), off on GPU (AMP fp16 is used)",
    )
    ap.add_argument(
        "--channels-last",
        choices=["auto", "on", "off"],
        default="auto",
        help="channels-last memory format; auto = on (1.7x faster on CPU here)",
    )
    ap.add_argument(
        "--augment",
        choices=["full", "flip"],
        default="full",
        help="full: flip, pad-and-crop, random erasing; flip: horizontal flips only",
    )
    ap.add_argument("--drop-singletons", action="store_true", help="ignore identities with one crop")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--version", action="version", version=version_text("reid-train"))
    return ap


def load_data(args: argparse.Namespace) -> TrainingSet:
    if args.project:
        if not args.project.is_file():
            raise DataError(f"no project file at {args.project}")
        return from_project(args.project)
    if args.data is None:
        raise DataError("give --data DIR (with ground_truth.csv or --layout market) or --project FILE")
    if not args.data.is_dir():
        raise DataError(f"{args.data} is not a folder")
    return from_market(args.data) if args.layout == "market" else from_folder(args.data, args.gt)


class Start:
    """The model training starts from: the network, its preprocessing, a description, and whether
    it already knows re-identification (then its backbone is fine-tuned gently)."""

    def __init__(self, net, pre: Preprocess, description: str, reid: bool) -> None:
        self.net, self.pre, self.description, self.reid = net, pre, description, reid


def load_init(args: argparse.Namespace) -> Start:
    from trainer.export import CheckpointError, load_checkpoint
    from trainer.networks.backbones import WeightsError
    from trainer.networks.imported import ConversionError, read_encoder
    from trainer.networks.reid_net import ONNX_BACKBONE, ReIDNet

    init = args.init
    if init in BACKBONES:
        if args.weights is not None and not args.weights.is_file():
            raise TrainError(f"--weights {args.weights} does not exist")
        pre = Preprocess(height=128, width=48) if init == "bignet" else Preprocess()  # method C's input
        try:
            net = ReIDNet(init, weights=args.weights)
        except WeightsError as exc:  # code inside, truncated, foreign or mismatched: one line
            raise TrainError(f"--weights {exc}") from None
        # torchreid weights of OSNet were trained for re-ID; ImageNet weights were not
        reid = args.weights is not None and init == "osnet_x0_25"
        return Start(net, pre, f"{init} ({args.weights or 'random init'})", reid)
    if init == "default":
        path = resource("models", "default-mnv2.pt")
        if not path.is_file():
            raise TrainError(
                f"the default encoder's checkpoint {path} is missing; run `make run` or "
                "`make default-encoder` to build it"
            )
        reid = False
    else:
        path = Path(init)
        reid = True
        if path.suffix == ".onnx":
            if not path.is_file():
                raise TrainError(f"--init model {path} does not exist")
            companions = [
                c for c in (path.with_suffix(".pt"), path.with_name("checkpoint.pt")) if c.is_file()
            ]
            if not companions:  # an imported encoder: train its own graph
                try:
                    read_encoder(path)  # one-line refusals: unreadable, no metadata, no map
                    net = ReIDNet(ONNX_BACKBONE, graph=path.read_bytes(), stripe_dim=0, proj_dim=0)
                except ConversionError as exc:
                    raise TrainError(str(exc)) from None
                return Start(net, net.backbone.info.preprocess, f"imported encoder {path.name}", True)
            path = companions[0]
    try:
        model = load_checkpoint(path)
    except (CheckpointError, ConversionError) as exc:
        raise TrainError(f"--init {exc}") from None
    meta = getattr(model, "checkpoint_meta", {}) or {}
    p = Preprocess.from_json(meta["preprocess"]) if "preprocess" in meta else Preprocess()
    return Start(model, p, str(path), reid)


def _native_bf16() -> bool:
    import torch

    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in probes)


def _device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise TrainError("--device cuda but no CUDA device is available")
    return name


def run(args: argparse.Namespace, events: EventWriter) -> int:
    import torch

    from trainer.distributed import Dist
    from trainer.export import export_onnx
    from trainer.safe_load import load_plain
    from trainer.train_loop import TrainConfig, train
    from trainer.workdir import Workdir, clean_stale

    if args.out.exists():
        raise TrainError(f"--out {args.out} already exists; choose a new folder")
    if not args.out.parent.is_dir():
        raise TrainError(f"the folder {args.out.parent} does not exist")
    if args.cpu_minutes is not None:
        args.minutes = args.cpu_minutes
    if args.epochs is None and args.minutes is None:
        args.epochs = 10
    ts = load_data(args)
    plan, train_items, hold = make_plan(
        ts, args.holdout_frac, args.seed, drop_singletons=args.drop_singletons or args.project is not None
    )
    device = _device(args.device)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    start = load_init(args)
    model, pre, init_desc = start.net, start.pre, start.description
    backbone_scale = args.backbone_lr or (REID_START_BACKBONE_SCALE if start.reid else 1.0)
    freeze = args.freeze if args.freeze is not None else (REID_START_FREEZE if start.reid else 0.0)
    dist = Dist(device)
    recipe = RECIPES[args.recipe]
    if dist.is_main:
        events.emit("plan", **plan.as_dict())
        events.emit(
            "start",
            recipe=recipe.name,
            data=ts.description,
            init=init_desc,
            device=device,
            seed=args.seed,
            epochs=args.epochs,
            minutes=args.minutes,
            train_ids=plan.train_ids,
            train_crops=plan.train_crops,
            holdout_ids=plan.holdout_ids,
            holdout_crops=plan.holdout_crops,
            backbone_lr=recipe.lr * backbone_scale,
            head_lr=recipe.lr,
            frozen_fraction=freeze,
            augment=args.augment,
            clock="cpu" if args.cpu_minutes is not None else "wall",
        )
    clean_stale(args.out.parent)  # temp folders of killed runs (never a live run's)
    work = Workdir.create(args.out)
    tmp = work.path
    try:
        bf16 = args.bf16 == "on" or (args.bf16 == "auto" and device == "cpu" and _native_bf16())
        cl = args.channels_last != "off"
        cfg = TrainConfig(
            recipe,
            args.epochs,
            args.minutes,
            args.seed,
            device,
            bf16,
            cl,
            backbone_scale=backbone_scale,
            freeze=freeze,
            cpu_clock=args.cpu_minutes is not None,
            augment=args.augment,
        )
        from trainer.dataset import hard_identity_pairs

        hard = hard_identity_pairs(train_items, ts.hard_negatives)
        result = train(model, train_items, hold, pre, cfg, events, dist, tmp / "best_state.pt", hard)
        if not dist.is_main:
            return 0
        best = load_plain(tmp / "best_state.pt")
        model.load_state_dict(best["state"])
        if best["stripe_fit"] is not None:  # the stripe embedding ranked the held-out people better
            model.set_stripe_embedding(*best["stripe_fit"])
        model.classifier = None  # the exported encoder (and checkpoint) carry no training head
        model._config["num_classes"] = 0
        from trainer.dataset import app_tensor
        from trainer.export import parity_of

        parity = torch.from_numpy(app_tensor(hold[:8], pre))
        prov = {
            "trainer": "reid-train",
            "recipe": recipe.name,
            "data": ts.description,
            "init": init_desc,
            "seed": args.seed,
            "before": result["before"],
            "after": result["after"],
            "best_epoch": result["best_epoch"],
            "comparison": result["comparison"]["verdict"],
        }
        onnx_path = export_onnx(model.cpu(), tmp / "encoder.onnx", pre, prov, parity_images=parity)
        os.replace(onnx_path.with_suffix(".pt"), tmp / "checkpoint.pt")
        (tmp / "best_state.pt").unlink()
        metrics = {
            "recipe": recipe.name,
            "data": ts.description,
            "init": init_desc,
            "seed": args.seed,
            "holdout_identities": sorted({s.pid for s in hold}),
            **result,
        }
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2, default=float))
        write_holdout_csv(tmp / "holdout.csv", hold)
        try:
            out = publish(tmp, args.out)
        except TrainError:
            work.release()  # a finished run is never deleted: the message says where it is
            raise
        events.emit(
            "export",
            path=str(out / "encoder.onnx"),
            parity_cosine=parity_of(out / "encoder.onnx").get("cosine_min"),
        )
        events.emit(
            "done",
            out=str(out),
            before=result["before"],
            after=result["after"],
            best_epoch=result["best_epoch"],
            seconds=round(result["seconds"], 1),
            comparison=result["comparison"],
            start=init_desc,
        )
        return 0
    finally:
        work.discard()  # gone already when it became --out
        dist.close()


def publish(tmp: Path, out: Path) -> Path:
    """Rename the finished run into place. Never over a folder that appeared during the run (and
    never lose the run): then it goes to the first free `OUT-2`, `OUT-3`…, which the events name."""
    for n in range(1, 1000):
        target = out if n == 1 else out.with_name(f"{out.name}-{n}")
        if target.exists() or target.is_symlink():
            continue
        try:
            os.rename(tmp, target)
        except OSError:  # appeared just now, or not empty: try the next name
            continue
        if n > 1:
            log.warning("%s appeared during the run; the result is in %s", out, target)
        return target
    raise TrainError(f"could not move the finished run out of {tmp}; it is still there")


def write_holdout_csv(path: Path, hold) -> None:
    """The held-out crops as ground truth, so `reid eval --data DIR --gt DIR/holdout.csv` reproduces
    the trainer's after-figures with the app's own evaluator."""
    import csv

    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "person_id", "camera"])
        for s in hold:
            w.writerow([str(s.path.absolute()), s.pid, s.camera])


def _terminate(signum, frame):  # QProcess.terminate() sends SIGTERM: treat it as a cancel
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    signal.signal(signal.SIGTERM, _terminate)
    # Under torchrun only rank 0 speaks on stdout; other ranks' events go to stderr.
    events = EventWriter(sys.stdout if os.environ.get("RANK", "0") == "0" else sys.stderr)
    t0 = time.monotonic()
    try:
        return run(args, events)
    except KeyboardInterrupt:
        events.emit("error", message="cancelled; nothing was written", cancelled=True)
        return 130
    except (TrainError, DataError) as exc:
        events.emit("error", message=str(exc))
        return 2
    except Exception as exc:  # the app shows the message; details go to stderr
        log.exception("training failed after %.0f s", time.monotonic() - t0)
        events.emit("error", message=f"{type(exc).__name__}: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
