"""Which model a fine-tune can start from, in the order the Fine-tune dialog offers them.

The learning loop must improve the best model the operator has, which is usually the active one
(often an imported encoder): it comes first and is the default whenever it is not the shipped
default encoder. `init` is what `reid-train --init` takes: "default", or an encoder file (an
imported ONNX is converted; one exported by reid-train continues from its checkpoint).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reid_desktop.core.encoders.defaults import DEFAULT_NAME, default_encoder_path
from reid_desktop.store import EncoderRecord, Project


@dataclass(frozen=True)
class StartChoice:
    label: str
    init: str
    encoder_id: int | None = None


def is_shipped_default(rec: EncoderRecord) -> bool:
    try:
        same_file = Path(rec.file).resolve() == default_encoder_path().resolve()
    except OSError:
        same_file = False
    return same_file or rec.name == DEFAULT_NAME


def start_choices(project: Project) -> list[StartChoice]:
    """The active model first (unless it is the shipped default), then the shipped default, then
    the project's other encoders whose files are present."""
    active_id = project.active_encoder_id
    encoders = project.encoders.all()
    active = next((e for e in encoders if e.id == active_id), None)
    out: list[StartChoice] = []
    if active is not None and not is_shipped_default(active) and Path(active.file).is_file():
        out.append(StartChoice(f"the active model ({active.name})", active.file, active.id))
    default_id = next((e.id for e in encoders if is_shipped_default(e)), None)
    out.append(StartChoice("the shipped default encoder (ImageNet MobileNetV2)", "default", default_id))
    for e in encoders:
        if e.id == active_id or is_shipped_default(e) or not Path(e.file).is_file():
            continue
        out.append(StartChoice(f"model {e.name}", e.file, e.id))
    return out
