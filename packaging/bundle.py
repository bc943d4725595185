"""What goes into the workstation bundle, for reid-desktop.spec: the two flavours, what is left
out and why, the licence notices of what went in, and a size report.

Pure Python (no PyInstaller import), so tests/unit/test_packaging.py checks the rules on their own.
The spec runs: `pyinstaller packaging/reid-desktop.spec -- --flavour cpu|cuda`.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
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


def spec_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="reid-desktop.spec")
    ap.add_argument("--flavour", choices=FLAVOURS, default="cpu")
    return ap.parse_args(argv)


def matches(dest: str, patterns: Iterable[str]) -> bool:
    dest = dest.replace(os.sep, "/")
    return any(fnmatch.fnmatch(dest, p) for p in patterns)


def trim(toc: list[tuple], flavour: str, saved: dict[str, int]) -> list[tuple]:
    """The TOC (dest, src, typecode) without what TRIMS leave out for this flavour; adds the bytes
    each rule saved (source file sizes) to `saved`."""
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


def _add(saved: dict[str, int], name: str, src: str | None) -> None:
    saved[name] = saved.get(name, 0) + (os.path.getsize(src) if src and os.path.isfile(src) else 0)


SYSTEM_LIBS = ("/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/")


def linux_layout(toc: list[tuple], saved: dict[str, int]) -> list[tuple]:
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


# ---- licences ----------------------------------------------------------------------------------

LICENCE_NAMES = ("LICENSE*", "LICENCE*", "COPYING*", "NOTICE*", "ThirdPartyNotices*", "License.txt")
# Packages whose wheels carry no licence text: the texts their metadata names, kept in packaging/licenses.
TEXTS_FOR = {
    "pyside6-essentials": ("LGPL-3.0.txt", "GPL-3.0.txt", "Qt-NOTICE.txt"),
    "shiboken6": ("LGPL-3.0.txt", "GPL-3.0.txt", "Qt-NOTICE.txt"),
    "flatbuffers": ("Apache-2.0.txt",),
}


def file_index() -> dict[str, metadata.Distribution]:
    """Every installed file (resolved path) → the distribution that installed it."""
    index: dict[str, metadata.Distribution] = {}
    for dist in metadata.distributions():
        for f in dist.files or []:
            try:
                index[str(Path(dist.locate_file(f)).resolve())] = dist
            except OSError:
                continue
    return index


def bundled_distributions(sources: Iterable[str], index: dict[str, metadata.Distribution]) -> dict:
    """{normalised name: Distribution} of the packages that own any of the collected files."""
    found: dict[str, metadata.Distribution] = {}
    for src in sources:
        if not src:
            continue
        dist = index.get(str(Path(src).resolve()))
        if dist is not None:
            found[normalise(dist.metadata["Name"])] = dist
    return dict(sorted(found.items()))


def normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def licence_of(dist: metadata.Distribution) -> str:
    meta = dist.metadata
    expr = meta.get("License-Expression") or meta.get("License") or ""
    if not expr or len(expr) > 80:  # some put the whole text in License:
        classifiers = [
            c.split(" :: ")[-1] for c in meta.get_all("Classifier") or [] if c.startswith("License")
        ]
        expr = " / ".join(classifiers) or (expr.splitlines()[0][:80] if expr else "not stated")
    return expr


def licence_files(dist: metadata.Distribution) -> list[Path]:
    """The licence texts a distribution installed (dist-info licence files, or LICENSE-like files
    anywhere in its packages, such as onnxruntime's ThirdPartyNotices.txt)."""
    out = []
    for f in dist.files or []:
        p = Path(dist.locate_file(f))
        in_info = ".dist-info/licenses/" in str(f).replace(os.sep, "/")
        if (in_info or any(fnmatch.fnmatch(p.name, n) for n in LICENCE_NAMES)) and p.is_file():
            out.append(p)
    return sorted(set(out))


def write_notices(
    out: Path, dists: dict[str, metadata.Distribution], extra: dict[str, list[Path]]
) -> list[str]:
    """licenses/ for the bundle: THIRD-PARTY-NOTICES.txt (one line per component) and a folder of
    licence texts per component. Returns the components with no text found (the build warns)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    kept_texts = ROOT / "packaging" / "licenses"
    lines = [
        "reid-desktop bundles the components below. Each folder here holds the licence texts its",
        "package ships (or, where the package ships none, the texts its licence names).",
        "",
    ]
    missing = []
    rows: list[tuple[str, str, str, list[Path]]] = []
    for name, paths in extra.items():
        rows.append((name, "", "see texts", paths))
    for name, dist in dists.items():
        if name in extra:  # this app itself (an editable install owns its sources)
            continue
        texts = licence_files(dist) + [kept_texts / t for t in TEXTS_FOR.get(name, ())]
        rows.append((name, dist.version, licence_of(dist), texts))
    for name, version, lic, texts in rows:
        folder = out / name
        folder.mkdir()
        seen: set[str] = set()
        for t in texts:
            target = t.name if t.name not in seen else f"{t.parent.name}-{t.name}"
            seen.add(target)
            shutil.copyfile(t, folder / target)
        if not texts:
            missing.append(name)
        lines.append(f"{name:32} {version:16} {lic}")
    (out / "THIRD-PARTY-NOTICES.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return missing


def app_licences() -> dict[str, list[Path]]:
    """Texts not owned by an installed package: the app's, the default encoder's and Python's."""
    py = Path(sys.base_prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "LICENSE.txt"
    if not py.is_file():  # Windows and framework builds keep it elsewhere
        py = Path(sys.base_prefix) / "LICENSE.txt"
    return {
        "reid-desktop": [ROOT / "LICENSE"],
        "default-encoder": [ROOT / "resources" / "models" / "LICENSE-default-encoder.txt"],
        f"python-{sys.version_info[0]}.{sys.version_info[1]}": [py] if py.is_file() else [],
    }


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


def size_report(bundle: Path, saved: dict[str, int], flavour: str) -> dict:
    """Sizes of the finished bundle by component, and what each rule saved (bytes)."""
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
    site = Path(metadata.distribution("torch").locate_file(""))
    on_disk = {"nvidia": site / "nvidia", "triton": site / "triton"}
    left_out = {}
    for name, path in on_disk.items():
        if path.is_dir():
            left_out[name] = tree_size(path) - tree_size(internal / name)
    return {"flavour": flavour, "total": total, "parts": sizes, "trimmed": saved, "not collected": left_out}


def print_report(report: dict) -> None:
    mb = 1e6
    print(f"\nreid-desktop bundle, {report['flavour']} flavour: {report['total'] / mb:,.0f} MB")
    for name, n in sorted(report["parts"].items(), key=lambda kv: -kv[1]):
        print(f"  {name:28} {n / mb:9,.1f} MB")
    print("  left out (bytes on disk that did not go in):")
    for name, n in {**report["trimmed"], **report["not collected"]}.items():
        print(f"    {name:42} {n / mb:9,.1f} MB")


def save_report(report: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))


def git_revision() -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        )
    except OSError:
        return None
    return out.stdout.strip() or None
