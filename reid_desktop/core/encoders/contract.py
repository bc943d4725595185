"""The encoder contract: what an ONNX file must state for the app to use it.

Metadata (ONNX `metadata_props`, read by onnxruntime as custom metadata):
- `reid.preprocess`: JSON of `Preprocess` (colour order, scale, mean, std, input size).
- `reid.outputs`: JSON `{"global": NAME, "map": NAME | null, "stripes": NAME | null,
  "batch": "dynamic" | "fixed"}`: the N×D global embedding, an optional N×C×h×w feature map to pool
  stripes from (or N×K×d stripes directly), and whether the batch axis is dynamic.
- `reid.provenance`: JSON, free-form (source file and hash, importer or trainer, recipe, metrics).

Pixel pipeline: RGB (or BGR) uint8 image resized to H×W, x = (pixel / scale − mean) / std, NCHW.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

KEY_PREPROCESS = "reid.preprocess"
KEY_OUTPUTS = "reid.outputs"
KEY_PROVENANCE = "reid.provenance"

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ContractError(Exception):
    """The model does not meet the encoder contract; the message says what is missing."""


@dataclass(frozen=True)
class Preprocess:
    height: int = 256
    width: int = 128
    rgb: bool = True  # False: channels in BGR order
    scale: float = 255.0  # pixels are divided by this before mean/std (255 → 0..1, 1 → 0..255)
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Preprocess:
        try:
            d = json.loads(text)
            p = cls(
                height=int(d["height"]),
                width=int(d["width"]),
                rgb=bool(d["rgb"]),
                scale=float(d["scale"]),
                mean=tuple(float(x) for x in d["mean"]),
                std=tuple(float(x) for x in d["std"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ContractError(f"{KEY_PREPROCESS} metadata is malformed: {exc}") from None
        p.validate()
        return p

    def validate(self) -> None:
        if not (8 <= self.height <= 2048 and 8 <= self.width <= 2048):
            raise ContractError(f"input size {self.height}x{self.width} is not plausible")
        if len(self.mean) != 3 or len(self.std) != 3 or any(s <= 0 for s in self.std):
            raise ContractError("mean and std need three values each, std > 0")
        if self.scale <= 0:
            raise ContractError("scale must be positive")


@dataclass(frozen=True)
class Outputs:
    global_name: str
    map_name: str | None = None
    stripes_name: str | None = None
    dynamic_batch: bool = True

    def to_json(self) -> str:
        return json.dumps(
            {
                "global": self.global_name,
                "map": self.map_name,
                "stripes": self.stripes_name,
                "batch": "dynamic" if self.dynamic_batch else "fixed",
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Outputs:
        try:
            d = json.loads(text)
            return cls(d["global"], d.get("map"), d.get("stripes"), d.get("batch", "dynamic") == "dynamic")
        except (ValueError, KeyError, TypeError) as exc:
            raise ContractError(f"{KEY_OUTPUTS} metadata is malformed: {exc}") from None


@dataclass(frozen=True)
class EncoderInfo:
    preprocess: Preprocess
    outputs: Outputs
    provenance: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_metadata(cls, meta: dict[str, str]) -> EncoderInfo:
        missing = [k for k in (KEY_PREPROCESS, KEY_OUTPUTS) if k not in meta]
        if missing:
            raise ContractError(
                f"the model lacks {', '.join(missing)} metadata; import it with `reid import-model` "
                "so its preprocessing and outputs are recorded"
            )
        try:
            prov = json.loads(meta.get(KEY_PROVENANCE, "{}"))
        except ValueError:
            prov = {}
        return cls(Preprocess.from_json(meta[KEY_PREPROCESS]), Outputs.from_json(meta[KEY_OUTPUTS]), prov)

    def metadata(self) -> dict[str, str]:
        return {
            KEY_PREPROCESS: self.preprocess.to_json(),
            KEY_OUTPUTS: self.outputs.to_json(),
            KEY_PROVENANCE: json.dumps(self.provenance, sort_keys=True),
        }
