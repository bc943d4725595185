"""Reading .pt files without running anything in them: the trainer's one call of torch.load.

`load_plain(path)` returns what PyTorch's restricted unpickler (weights_only=True) accepts: tensors,
dicts, lists, numbers and strings. Anything else raises `PlainLoadError` with one line that names
the file and says why:

- it does not exist, is a folder, or cannot be read;
- it is not a plain weights file: it contains code or objects that would have to run to load it
  (a pickled model class, a `__reduce__` payload, numpy objects...);
- it is truncated or damaged;
- it is not a PyTorch weights file at all.

PyTorch's own message is never passed on: it advises turning the restriction off, which would let
the file run its code. Only the failure path looks inside the file (zip directory, pickle opcodes,
read but never executed) to tell these cases apart.
"""

from __future__ import annotations

import logging
import pickle
import pickletools
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger(__name__)

UNSAFE = (
    "not a plain weights file: it contains code or objects that would have to run to load it; "
    "only plain tensor checkpoints are accepted"
)
DAMAGED = "truncated or damaged (not a complete PyTorch file); copy or save it again"
FOREIGN = "not a PyTorch weights file"
# Phrases of the restricted unpickler's refusals that mean "the file asks to import or call something".
_ASKS_FOR_CODE = ("GLOBAL", "reduce", "new object", "is blocked", "must be imported", "add_safe_globals")
_CODE_OPS = {"GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "REDUCE", "NEWOBJ", "NEWOBJ_EX", "EXT1", "EXT2", "EXT4"}
_TORCH_MAGIC = 0x1950A86A20F9469CFC6C  # the first pickle of torch.save's legacy (non-zip) format


class PlainLoadError(ValueError):
    """A .pt file that cannot be loaded as plain tensors; str(exc) is one line naming the file."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = Path(path), reason


def load_plain(path: Path) -> Any:
    """The plain contents of `path` (torch.load on the CPU, weights only), or PlainLoadError."""
    path = Path(path)
    if not path.exists():
        raise PlainLoadError(path, "does not exist")
    if path.is_dir():
        raise PlainLoadError(path, "is a folder, not a weights file")
    try:
        with warnings.catch_warnings():  # e.g. "Detected pickle protocol 4": noise beside the refusal
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except OSError as exc:
        if not _looks_like_zip(path):
            raise PlainLoadError(path, f"cannot be read ({exc.strerror or exc})") from None
        reason = DAMAGED
    except Exception as exc:  # noqa: BLE001  (UnpicklingError, RuntimeError, EOFError, KeyError, ...)
        reason = _why(path, exc)
    log.info("refused %s: %s", path, reason)
    raise PlainLoadError(path, reason) from None


def _looks_like_zip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == b"PK"


def _why(path: Path, exc: Exception) -> str:
    if isinstance(exc, pickle.UnpicklingError) and any(p in str(exc) for p in _ASKS_FOR_CODE):
        return UNSAFE
    with path.open("rb") as fh:
        head = fh.read(2)
    if not head:
        return "is empty"
    if head == b"PK":
        return _why_zip(path)
    if head[:1] == b"\x80":  # a pickle (protocol 2+): torch's legacy format, or a bare pickle
        with path.open("rb") as fh:
            kind = _first_pickle(fh)
        return {"magic": DAMAGED, "code": UNSAFE, "broken": DAMAGED}.get(kind, FOREIGN)
    return FOREIGN


def _why_zip(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as z:
            pkl = [n for n in z.namelist() if n.endswith("/data.pkl")]
            if not pkl:
                return FOREIGN + " (a zip archive without data.pkl)"
            z.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        pass
    return DAMAGED  # torch's own reader failed without asking for code: a bad record or a cut file


def _first_pickle(fh) -> str:
    """'magic' (torch's legacy header), 'code' (imports or calls something), 'plain', or 'broken'.
    Reads opcodes only; nothing is executed."""
    ops = []
    try:
        for op, arg, _pos in pickletools.genops(fh):
            if op.name in _CODE_OPS:
                return "code"
            ops.append((op.name, arg))
    except Exception:  # noqa: BLE001  (truncated or not a pickle)
        return "broken"
    values = [a for name, a in ops if name in ("LONG1", "LONG4")]
    return "magic" if values[:1] == [_TORCH_MAGIC] else "plain"
