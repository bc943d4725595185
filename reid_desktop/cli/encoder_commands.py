"""`reid` commands on encoders: import-model, models, embed, match, eval."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from reid_desktop.core.encoders.contract import ContractError
from reid_desktop.core.encoders.preprocess_options import (
    SCALES,
    SIZE_HELP,
    PreprocessOptions,
    describe,
    parse_size,
)
from reid_desktop.core.jobs import CancelToken, run_job

from .common import add_command, open_project, progress_printer


def _size(text: str) -> tuple[int, int]:
    try:
        size = parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if size is None:
        raise argparse.ArgumentTypeError(SIZE_HELP)
    return size


def _preprocess(args: argparse.Namespace) -> PreprocessOptions:
    """What the flags state; the importer fills the rest from the model (resolve_preprocess)."""
    return PreprocessOptions(
        rgb=not args.bgr,
        scale=args.scale if args.scale is not None else 255.0,
        mean=tuple(args.mean) if args.mean else None,
        std=tuple(args.std) if args.std else None,
        size=args.size,
    )


def cmd_import_model(args: argparse.Namespace) -> int:
    from reid_desktop.core.encoders.importer import import_model

    probe = None
    project = open_project(args.project) if args.project else None
    try:
        if project is not None:
            ids = [c.id for c in project.crops.all()[:16]]
            probe = list(project.crops.paths(ids).values()) or None
        rep = import_model(
            Path(args.src), Path(args.out), _preprocess(args), probe_images=probe, overwrite=args.overwrite
        )
        print(f"Imported {args.src} -> {rep.dst}")
        print(
            f"  global embedding: {rep.global_dim}-d; feature map: "
            f"{'x'.join(map(str, rep.map_shape)) if rep.map_shape else 'none'}; "
            f"batch: {'dynamic' if rep.dynamic_batch else 'fixed (1)'}"
        )
        print(f"  preprocessing: {describe(rep.info.preprocess)}")
        for w in rep.warnings:
            print(f"  warning: {w}")
        final = rep.dst
        if args.quantize == "int8":
            final = _quantize(args, project, rep.dst)
        if project is not None:
            from reid_desktop.core.encoders.registry import register_encoder

            encoder = register_encoder(project, final, args.name)
            print(f"Registered as model {encoder.name!r} (id {encoder.id}) and made active in {project.path}")
    finally:
        if project is not None:
            project.close()
    return 0


def _quantize(args: argparse.Namespace, project, fp32: Path) -> Path:
    from reid_desktop.core.encoders.quantize import quantize_int8

    if project is None and not args.calib_dir:
        raise ContractError("--quantize int8 needs --project (its crops calibrate) or --calib-dir")
    if project is not None:
        crops = project.crops.all()
        calib = list(project.crops.paths([c.id for c in crops[:: max(1, len(crops) // 200)]]).values())
    else:
        calib = sorted(p for p in Path(args.calib_dir).rglob("*") if p.suffix.lower() in {".jpg", ".png"})
    dst = fp32.with_name(fp32.stem + ".int8.onnx")
    quantize_int8(fp32, dst, calib, overwrite=args.overwrite)
    print(f"  int8 copy: {dst} (calibrated on {min(len(calib), 200)} crops)")
    if args.eval_data:
        from reid_desktop.core.encoders.runtime import EncoderRuntime
        from reid_desktop.core.evaluation.evaluate import evaluate_encoder

        for label, path in (("fp32", fp32), ("int8", dst)):
            res = run_job(evaluate_encoder(EncoderRuntime.load(path), Path(args.eval_data)))
            m = res.metrics
            print(f"  {label}: Rank-1 {m.rank1:.3f}  mAP {m.mAP:.3f}")
    return dst


def cmd_models(args: argparse.Namespace) -> int:

    with open_project(args.project, read_only=True) as project:
        active = project.active_encoder_id
        for m in project.encoders.all():
            mark = "*" if m.id == active else " "
            print(f"{mark} {m.id:>3}  {m.name:<30} {project.embeddings.count(m.id):>7} embeddings  {m.file}")
        if not project.encoders.all():
            print("no models; add one with `reid import-model SRC --out DST --project P`")
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    from reid_desktop.core.encoders.defaults import working_encoder
    from reid_desktop.core.encoders.embed import embed_project
    from reid_desktop.core.encoders.registry import open_encoder

    with open_project(args.project) as project:
        fresh = not project.encoders.all()
        encoder = working_encoder(project, args.model)
        if fresh:
            print(f"Registered the default encoder {encoder.name!r} and made it active", file=sys.stderr)
        enc = open_encoder(encoder, stripes=args.stripes)
        project.set_active_encoder(encoder.id)
        show, finish = progress_printer()
        try:
            rep = run_job(embed_project(project, encoder.id, enc, CancelToken(), args.batch), show)
        except KeyboardInterrupt:
            finish()
            print("Interrupted; embeddings computed so far are saved. Run again to resume.", file=sys.stderr)
            return 130
        finish()
        print(
            f"model {encoder.name!r} on {rep.provider}: {rep.encoded} embedded, {rep.already} already "
            f"cached, {len(rep.failed)} failed, {rep.rate:.1f} crops/s"
        )
        for cid, why in rep.failed[:20]:
            print(f"  crop {cid}: {why}")
    return 0


def cmd_match(args: argparse.Namespace) -> int:
    from reid_desktop.core.encoders.defaults import working_encoder
    from reid_desktop.core.retrieval.matching import GalleryIndex

    with open_project(args.project, read_only=True) as project:
        encoder = working_encoder(project, args.model)
        index = GalleryIndex.from_project(project, encoder.id)
        crop = project.crops.get(args.crop)
        if crop.id not in index:
            raise ContractError(
                f"crop {crop.id} has no embedding for model {encoder.name!r}; run `reid embed` first"
            )
        cams = {c.id: c.name for c in project.cameras.all()}
        print(f"query crop {crop.id}: {cams[crop.camera_id]}/{crop.rel_path}")
        for rank, c in enumerate(index.topk(crop.id, args.k), 1):
            cand = project.crops.get(c.crop_id)
            print(f"{rank:>3}. {c.score:.3f}  crop {cand.id:>6}  {cams[cand.camera_id]}/{cand.rel_path}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from reid_desktop.core.encoders.runtime import EncoderRuntime
    from reid_desktop.core.evaluation.evaluate import evaluate_encoder

    enc = EncoderRuntime.load(args.model)
    show, finish = progress_printer()
    res = run_job(
        evaluate_encoder(
            enc,
            Path(args.data),
            gt=Path(args.gt) if args.gt else None,
            layout=args.layout,
            rerank=args.rerank,
        ),
        None if args.json else show,
    )
    finish()
    if args.json:
        d = res.metrics.as_dict()
        print(
            json.dumps(
                {k: d[k] for k in ("rank1", "rank5", "rank10", "mAP", "mINP", "queries")}
                | {"provider": res.provider}
            )
        )
        return 0
    m = res.metrics
    print(
        f"{Path(args.model).name} on {args.data} ({res.protocol}, {res.crops} crops, {res.provider}"
        f"{', re-ranked' if args.rerank else ''})"
    )
    print(
        f"Rank-1 {m.rank1:.4f}  Rank-5 {m.rank5:.4f}  Rank-10 {m.rank10:.4f}  mAP {m.mAP:.4f}  "
        f"mINP {m.mINP:.4f}  ({m.queries} queries)"
    )
    return 0


def add_encoder_commands(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        "import-model",
        cmd_import_model,
        "make a foreign re-ID ONNX file meet the encoder contract",
        project=None,
    )
    p.add_argument("src")
    p.add_argument("--out", required=True, help="where to write the imported model")
    p.add_argument("--project", help="register the model in this project (and make it active)")
    p.add_argument("--name", help="model name in the project (default: file name)")
    colour = p.add_mutually_exclusive_group()
    colour.add_argument("--rgb", action="store_true", help="the model expects RGB (default)")
    colour.add_argument("--bgr", action="store_true", help="the model expects BGR")
    p.add_argument(
        "--scale",
        type=float,
        choices=SCALES,
        help="divide pixels by this before mean/std (255: 0..1 input; 1: 0..255)",
    )
    channels = "in the model's channel order (R G B, or B G R with --bgr)"
    p.add_argument(
        "--mean", type=float, nargs=3, metavar="V", help=f"{channels}; default: ImageNet's for --scale"
    )
    p.add_argument("--std", type=float, nargs=3, metavar="V", help=f"{channels}; default: ImageNet's")
    p.add_argument("--size", type=_size, metavar="HxW", help="input HEIGHTxWIDTH (default: from the model)")
    p.add_argument("--quantize", choices=["int8"], help="also write a static int8 (QDQ) copy")
    p.add_argument("--calib-dir", help="crops to calibrate int8 on when no --project is given")
    p.add_argument("--eval-data", help="labelled folder to compare fp32 and int8 accuracy on")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    add_command(sub, "models", cmd_models, "models registered in a project (* = active)")
    p = add_command(sub, "embed", cmd_embed, "embed crops that have no embedding for the model yet")
    p.add_argument("--model", help="name or id (default: the active model)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--stripes", type=int, default=8, help="K horizontal stripes (default 8)")
    p = add_command(sub, "match", cmd_match, "top cross-camera candidates for one crop")
    p.add_argument("crop", type=int, help="crop id")
    p.add_argument("--model", help="name or id (default: the active model)")
    p.add_argument("--k", type=int, default=10)
    p = add_command(
        sub, "eval", cmd_eval, "Rank-1/5/10, mAP, mINP of an encoder on labelled crops", project=None
    )
    p.add_argument("--model", required=True, help="an ONNX file that meets the encoder contract")
    p.add_argument("--data", required=True, help="folder of camera folders, or a Market-1501 folder")
    p.add_argument("--gt", help="ground-truth CSV (default: DATA/ground_truth.csv)")
    p.add_argument("--layout", choices=["market"], help="evaluate query/ against bounding_box_test/")
    p.add_argument("--rerank", action="store_true", help="k-reciprocal re-ranking (k1=20, k2=6, λ=0.3)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
