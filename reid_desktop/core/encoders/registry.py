"""Registering encoder files in a project and opening the active one."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from reid_desktop.core.encoders.contract import ContractError
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
    model = project.encoders.add(name, str(p), file_sha256(p), meta)
    if activate:
        project.set_active_encoder(model.id)
    return model


def resolve_encoder(project: Project, ref: str | None) -> EncoderRecord:
    """A model by name or id, or the active one."""
    if ref is None:
        mid = project.active_encoder_id
        if mid is None:
            raise ContractError("the project has no active model; import one with `reid import-model`")
        return project.encoders.get(mid)
    if ref.isdigit():
        try:
            return project.encoders.get(int(ref))
        except KeyError:
            pass
    model = project.encoders.by_name(ref)
    if model is None:
        raise ContractError(f"no model named {ref!r} in this project")
    return model


def open_encoder(model: EncoderRecord, *, stripes: int = DEFAULT_STRIPES) -> EncoderRuntime:
    p = Path(model.file)
    if not p.is_file():
        raise ContractError(f"the file of model {model.name!r} is missing: {p}")
    if file_sha256(p) != model.sha256:
        raise ContractError(
            f"the file of model {model.name!r} changed since it was registered ({p}); embeddings "
            "made with it would not be comparable. Import it again under a new name."
        )
    return EncoderRuntime.load(p, stripes=stripes)
