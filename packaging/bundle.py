"""What goes into the workstation bundle, for reid-desktop.spec: the two flavours, what is left
out and why, the Linux library layout, the build info and a size report (licences: notices.py).

Pure Python (no PyInstaller import), so tests/unit/test_packaging.py checks the rules on their own.
The spec runs: `pyinstaller packaging/reid-desktop.spec -- --flavour cpu|cuda`.
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLAVOURS = ("cpu", "cuda")

# Modules no executable of the bundle imports at run time.
EXCLUDED_MODULES = [
    "tkinter",
    "_tkinter",
    "pytest",
    "IPython",
    "matplotlib",
    "tensorboard",
    "torch.utils.tensorboard",
    "triton",  # torch.compile's GPU kernel compiler; reid-train never compiles
    # Pulled in by torch's compiler and C++-extension builder, which reid-train never runs
    # (checked: a training run and its ONNX export import none of them).
    "setuptools",
    "pkg_resources",
    "networkx",
    "jinja2",
    # The dynamo ONNX exporter; reid-train exports with the TorchScript one (trainer/export.py).
    "onnxscript",
    "onnx_ir",
]
# The GUI and `reid` never import the trainer (an import-linter contract says so).
TRAINER_ONLY = ["torch", "torchvision", "trainer", "sympy"]
GUI_ONLY = ["PySide6", "shiboken6"]
# Only in the CPU flavour: with `nvidia` excluded, PyInstaller still collects the CUDA libraries
# torch's own libraries link against (libtorch_cuda.so needs them to load at all), but not the
# ones torch opens on demand on a GPU (cuDNN's engines, cuSOLVER, NVRTC builtins, profilers).
CPU_ONLY_EXCLUDED = ["nvidia"]


@dataclass(frozen=True)
class Trim:
    """Files left out of the bundle by their destination path (a glob), and why."""

    name: str
    patterns: tuple[str, ...]
    why: str
    flavours: tuple[str, ...] = FLAVOURS


TRIMS = (
    Trim(
        "Qt translations",
        ("PySide6/Qt/translations/*",),
        "the app is in English and installs no QTranslator",
    ),
    Trim(
        "Qt platform plugins for embedded screens",
        tuple(
            f"PySide6/Qt/plugins/platforms/libq{p}.so"
            for p in ("eglfs", "linuxfb", "minimal", "minimalegl", "vnc", "vkkhrdisplay")
        )
        + ("PySide6/Qt/plugins/egldeviceintegrations/*",),
        "a workstation runs on X11 or Wayland; offscreen stays for tests and smoke runs",
    ),
    Trim(
        "Qt image formats the app never reads",
        tuple(f"PySide6/Qt/plugins/imageformats/libq{p}.so" for p in ("pdf", "icns", "tga", "wbmp", "tiff")),
        "crops are decoded by Pillow; Qt shows PNG/JPEG thumbnails and SVG icons",
    ),
    Trim("torch build helpers", ("torch/bin/protoc*", "torch/share/*"), "protobuf compiler and CMake files"),
    Trim(
        "torch CUDA linear algebra",
        ("torch/lib/libtorch_cuda_linalg.so", "nvidia/*/lib/libcusolver*"),
        "opened by torch only for linear algebra on a GPU (with cuSOLVER, which only it needs)",
        ("cpu",),
    ),
    Trim("bytecode caches", ("*/__pycache__/*", "*.pyc"), "PyInstaller compiles its own archive"),
)


def cuda_libraries() -> list[tuple[str, str]]:
    """Every library of the nvidia-* wheels (CUDA flavour), for Analysis(binaries=…): torch links
    only some; the rest it opens on a GPU (cuDNN's engines, NVRTC's builtins, cuSOLVER…), and
    PyInstaller's hooks expect CUDA 12's per-package folders, not CUDA 13's nvidia/cu13. Left
    out: the multi-node plugins (NVSHMEM over MPI/InfiniBand/UCX, GPUDirect RDMA), which need
    cluster libraries a workstation does not have."""
    spec = importlib.util.find_spec("nvidia")
    roots = list(spec.submodule_search_locations) if spec and spec.submodule_search_locations else []
    out = []
    for root in map(Path, roots):
        for lib in sorted(root.glob("*/lib/*.so*")):
            if not MULTI_NODE.match(lib.name):
                out.append((str(lib), str(Path("nvidia") / lib.parent.relative_to(root))))
    return out


MULTI_NODE = re.compile(r"^(nvshmem_(bootstrap|transport)_.*|libcufile_rdma\.so.*)$")


def spec_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="reid-desktop.spec")
    ap.add_argument("--flavour", choices=FLAVOURS, default="cpu")
    return ap.parse_args(argv)


def matches(dest: str, patterns: Iterable[str]) -> bool:
    dest = dest.replace(os.sep, "/")
    return any(fnmatch.fnmatch(dest, p) for p in patterns)


Saved = dict[str, dict[str, int]]  # what a rule left out: {rule: {source file: bytes}}


def trim(toc: list[tuple], flavour: str, saved: Saved) -> list[tuple]:
    """The TOC (dest, src, typecode) without what TRIMS leave out for this flavour; records each
    file left out under its rule in `saved` (once, however many programs wanted it)."""
    kept = []
    rules = [t for t in TRIMS if flavour in t.flavours]
    for entry in toc:
        dest, src = entry[0], entry[1]
        rule = next((t for t in rules if matches(dest, t.patterns)), None)
        if rule is None:
            kept.append(entry)
        else:
            _add(saved, rule.name, src)
    return kept


def _add(saved: Saved, name: str, src: str | None) -> None:
    if src and os.path.isfile(src):
        saved.setdefault(name, {})[os.path.realpath(src)] = os.path.getsize(src)


SYSTEM_LIBS = ("/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/")


def linux_layout(toc: list[tuple], saved: Saved) -> list[tuple]:
    """Shared libraries laid out as torch expects them, once each, without the system's.

    - CUDA libraries keep their nvidia/<part>/lib/ folders: torch's own libraries find them there
      through their RPATH ($ORIGIN/../../nvidia/...), not through a search path.
    - A library collected twice (torch/lib/libtorch_cpu.so also as a top-level copy, ~1 GB in all)
      stays only in its package folder: the loader matches later users by its soname.
    - Libraries of the build machine's system (X11, glib, fontconfig, OpenSSL, libstdc++…) stay
      out: they must match the user's desktop, so the .deb depends on the distribution's packages
      (packaging/linux_deps.py reads them off the bundle's ELF files).
    """
    out, seen = [], set()
    in_packages = {os.path.realpath(e[1]) for e in toc if "/" in e[0].replace(os.sep, "/") and e[1]}
    for dest, src, typecode in toc:
        real = os.path.realpath(src) if src else ""
        if typecode == "BINARY" and real.startswith(SYSTEM_LIBS):
            _add(saved, "system libraries (the .deb depends on them)", real)
            continue
        if "/site-packages/nvidia/" in real:
            dest = "nvidia/" + real.split("/site-packages/nvidia/", 1)[1]
        elif "/" not in dest and real in in_packages:
            _add(saved, "second copies of torch's libraries", real)
            continue
        if dest not in seen:
            seen.add(dest)
            out.append((dest, src, typecode))
    return out


def symbol_table_bytes(path: Path) -> int:
    """Size of an ELF file's .symtab and .strtab (what `strip` removes), 0 for anything else."""
    with path.open("rb") as fh:
        if fh.read(4) != b"\x7fELF":
            return 0
    out = subprocess.run(["readelf", "-S", "-W", str(path)], capture_output=True, text=True).stdout
    sizes = re.findall(r"\]\s+\.(?:symtab|strtab)\s+\S+\s+\S+\s+\S+\s+([0-9a-f]+)", out)
    return sum(int(x, 16) for x in sizes)


def strip_symbols(bundle: Path, threshold: int = 4 << 20) -> int:
    """`strip --strip-unneeded` the libraries that ship megabytes of symbol tables: torch's own
    (~180 MB). Smaller ones are left alone: stripping a library that auditwheel patched (numpy's
    OpenBLAS) breaks it ("ELF load command address/offset not page-aligned"). Returns bytes saved."""
    saved = 0
    for p in bundle.rglob("*.so*"):
        if p.is_symlink() or not p.is_file() or symbol_table_bytes(p) < threshold:
            continue
        before = p.stat().st_size
        subprocess.run(["strip", "--strip-unneeded", str(p)], check=True)
        saved += before - p.stat().st_size
    return saved


# ---- build info and size report --------------------------------------------------------------


def build_info(flavour: str, version: str, dists: dict[str, metadata.Distribution]) -> dict:
    ort = next((n for n in ("onnxruntime-gpu", "onnxruntime") if n in dists), None)
    return {
        "version": version,
        "flavour": flavour,
        "built": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "python": ".".join(map(str, sys.version_info[:3])),
        "torch": dists["torch"].version if "torch" in dists else None,
        "onnxruntime": f"{ort} {dists[ort].version}" if ort else None,
    }


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def size_report(bundle: Path, saved: Saved, flavour: str) -> dict:
    """Sizes of the finished bundle by component, and the bytes each rule left out."""
    internal = bundle / "_internal"
    groups = {
        "torch": internal / "torch",
        "nvidia (CUDA libraries)": internal / "nvidia",
        "PySide6 (Qt)": internal / "PySide6",
        "onnxruntime": internal / "onnxruntime",
        "licences": internal / "licenses",
    }
    sizes = {name: tree_size(p) for name, p in groups.items() if p.is_dir()}
    total = tree_size(bundle)
    sizes["everything else"] = total - sum(sizes.values())
    trimmed = {rule: sum(files.values()) for rule, files in saved.items()}
    site = Path(metadata.distribution("torch").locate_file(""))
    nvidia, triton = site / "nvidia", site / "triton"
    if nvidia.is_dir():  # what no rule above accounts for: left out by not being collected at all
        by_rules = sum(
            n for files in saved.values() for src, n in files.items() if src.startswith(str(nvidia))
        )
        rest = tree_size(nvidia) - tree_size(internal / "nvidia") - by_rules
        trimmed["CUDA libraries opened only on a GPU"] = rest
    if triton.is_dir():
        trimmed["triton (torch.compile's GPU compiler)"] = tree_size(triton)
    return {"flavour": flavour, "total": total, "parts": sizes, "left out": trimmed}


def print_report(report: dict) -> None:
    mb = 1e6
    print(f"\nreid-desktop bundle, {report['flavour']} flavour: {report['total'] / mb:,.0f} MB")
    for name, n in sorted(report["parts"].items(), key=lambda kv: -kv[1]):
        print(f"  {name:28} {n / mb:9,.1f} MB")
    print("  left out (bytes on disk that did not go in):")
    for name, n in sorted(report["left out"].items(), key=lambda kv: -kv[1]):
        print(f"    {name:42} {n / mb:9,.1f} MB")


def save_report(report: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))
