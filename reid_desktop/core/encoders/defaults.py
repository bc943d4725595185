"""Which encoder the app and `reid embed` / `reid match` work with, and the default encoder
(shipped as package data, see reid_desktop/resources.py) that a project without any gets."""

from __future__ import annotations

import logging
from pathlib import Path

from reid_desktop.core.encoders.contract import ContractError
from reid_desktop.core.encoders.registry import register_encoder, resolve_encoder
from reid_desktop.core.encoders.runtime import EncoderRuntime
from reid_desktop.resources import resource
from reid_desktop.store import EncoderRecord, Project

log = logging.getLogger(__name__)
DEFAULT_NAME = "default-mnv2"


def default_encoder_path() -> Path:
    return resource("models", f"{DEFAULT_NAME}.onnx")


def default_encoder_problem() -> str | None:
    """Why the default encoder that ships with the app cannot be used (missing, unreadable, not an
    encoder), in one line naming the file; None when it loads. The app checks once at start, off
    the GUI thread (loading takes a fraction of a second)."""
    path = default_encoder_path()
    if not path.is_file():
        return f"the default encoder {path} is missing"
    try:
        EncoderRuntime.load(path, providers=["CPUExecutionProvider"], threads=1)
    except ContractError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"the default encoder {path} cannot be used: {reason[:200]}"
    return None


def ensure_default_encoder(project: Project) -> EncoderRecord | None:
    """The active encoder; a project with no encoder at all first gets the default one,
    registered and made active. None when there is none to work with (the reason is logged):
    encoders exist but none is active, the default file is missing or unusable, or the project
    is open read-only (nothing may be written)."""
    if project.encoders.all():
        mid = project.active_encoder_id
        return project.encoders.get(mid) if mid is not None else None
    if project.read_only:
        return None
    path = default_encoder_path()
    if not path.is_file():
        log.info("default encoder %s is missing", path)  # the caller says it (working_encoder, the app)
        return None
    try:
        encoder = register_encoder(project, path, DEFAULT_NAME)
    except ContractError as exc:
        log.info("default encoder unusable: %s", exc)
        return None
    log.info("registered the default encoder %s in %s", DEFAULT_NAME, project.path)
    return encoder


def working_encoder(project: Project, ref: str | None = None) -> EncoderRecord:
    """The encoder named by ref (name or id), else what the Review screen uses
    (`ensure_default_encoder`). Raises ContractError saying what to do when there is none."""
    if ref is not None:
        return resolve_encoder(project, ref)
    encoder = ensure_default_encoder(project)
    if encoder is not None:
        return encoder
    if project.encoders.all():
        raise ContractError("the project has no active model; choose one with --model NAME")
    if project.read_only:
        raise ContractError(
            "the project has no model yet; `reid embed PROJECT` adds the default encoder and embeds the crops"
        )
    raise ContractError(
        f"{no_encoder_reason(project)}; import one with `reid import-model SRC --out DST --project PROJECT`"
    )


def no_encoder_reason(project: Project) -> str:
    """Why `ensure_default_encoder` gave None, in one clause."""
    if project.encoders.all():
        return "the project has models but none is active"
    if project.read_only:
        return "the project is open read-only and has no model yet"
    return default_encoder_problem() or f"the default encoder {default_encoder_path()} is unusable"
