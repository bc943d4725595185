"""Registering encoder files in a project and opening the active one."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from reid_desktop.core.encoders.contract import KEY_PREPROCESS, ContractError, Preprocess
from reid_desktop.core.encoders.runtime import DEFAULT_STRIPES, EncoderRuntime
from reid_desktop.store import EncoderRecord, Project


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def register_encoder(
    project: Project, path: str | os.PathLike[str], name: str | None = None, *, activate: bool = True
) -> EncoderRecord:
    """Add a contract-complete ONNX file to the project (validated by loading it)."""
    p = Path(path).expanduser().absolute()
    enc = EncoderRuntime.load(p)  # raises ContractError with the reason when it is not usable
    name = name or p.stem
    if project.encoders.by_name(name) is not None:
        raise ContractError(f"the project already has a model named {name!r}; choose another name")
    meta = {k: json.loads(v) for k, v in enc.info.metadata().items()}
    encoder = project.encoders.add(name, str(p), file_sha256(p), meta)
    if activate:
        project.set_active_encoder(encoder.id)
    return encoder


def resolve_encoder(project: Project, ref: str) -> EncoderRecord:
    """An encoder by name or id (`defaults.working_encoder` decides when none is named)."""
    if ref.isdigit():
        try:
            return project.encoders.get(int(ref))
        except KeyError:
            pass
    encoder = project.encoders.by_name(ref)
    if encoder is None:
        raise ContractError(f"no model named {ref!r} in this project")
    return encoder


def open_encoder(encoder: EncoderRecord, *, stripes: int = DEFAULT_STRIPES) -> EncoderRuntime:
    p = Path(encoder.file)
    if not p.is_file():
        raise ContractError(f"the file of model {encoder.name!r} is missing: {p}")
    if file_sha256(p) != encoder.sha256:
        raise ContractError(
            f"the file of model {encoder.name!r} changed since it was registered ({p}); embeddings "
            "made with it would not be comparable. Import it again under a new name."
        )
    return EncoderRuntime.load(p, stripes=stripes)


def recorded_preprocess(record: EncoderRecord) -> Preprocess | None:
    """The preprocessing registered with an encoder (None if its metadata lacks it)."""
    raw = record.metadata.get(KEY_PREPROCESS) if isinstance(record.metadata, dict) else None
    if raw is None:
        return None
    try:
        return Preprocess.from_json(raw if isinstance(raw, str) else json.dumps(raw))
    except ContractError:
        return None
