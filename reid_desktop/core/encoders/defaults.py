"""The default encoder shipped under resources/, registered in projects that have no model."""

from __future__ import annotations

import logging

from reid_desktop.core.encoders.contract import ContractError
from reid_desktop.core.encoders.registry import register_encoder
from reid_desktop.resources import resource
from reid_desktop.store import EncoderRecord, Project

log = logging.getLogger(__name__)
DEFAULT_NAME = "default-mnv2"


def default_encoder_path():
    return resource("models", f"{DEFAULT_NAME}.onnx")


def ensure_default_encoder(project: Project) -> EncoderRecord | None:
    """Register and activate the default encoder when the project has no model yet."""
    if project.encoders.all():
        mid = project.active_encoder_id
        return project.encoders.get(mid) if mid is not None else None
    path = default_encoder_path()
    if not path.is_file():
        log.warning("default encoder %s is missing", path)
        return None
    try:
        return register_encoder(project, path, DEFAULT_NAME)
    except ContractError as exc:
        log.warning("default encoder unusable: %s", exc)
        return None
