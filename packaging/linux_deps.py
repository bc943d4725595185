"""Which Debian packages a bundle needs: the shared libraries its ELF files link against but do
not carry, mapped to packages with dpkg (or a table, for libraries this machine lacks), and the
newest glibc symbol version they use. What dpkg-shlibdeps does, without a debian/ source tree."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

# Libraries that a plugin opens only when present: they become Recommends, not Depends.
OPTIONAL = {
    "libgtk-3.so.0": "libgtk-3-0",  # Qt's GTK theme plugin (native file dialogs on GNOME)
    "libgdk-3.so.0": "libgtk-3-0",
}
# Never a package dependency: the NVIDIA driver's library (CUDA flavour, only used on a GPU) and
# TensorRT, which onnxruntime-gpu opens only when asked for its TensorRT provider.
IGNORED = re.compile(r"^(libcuda\.so\.1|libnvinfer.*|libnvonnxparser.*|libnvinfer_plugin.*)$")
# Packages of libraries a build machine may lack (Debian/Ubuntu names; used when dpkg cannot say).
KNOWN_PACKAGES = {
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
}


class DependencyError(Exception):
    """A library no package is known for, in one line."""


def elf_files(folder: Path) -> list[Path]:
    out = []
    for p in folder.rglob("*"):
        if p.is_file() and not p.is_symlink():
            with p.open("rb") as fh:
                if fh.read(4) == b"\x7fELF":
                    out.append(p)
    return out


def needed(path: Path) -> list[str]:
    text = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", text)


def glibc_needed(paths: list[Path]) -> str | None:
    """The newest GLIBC_x.y symbol version any file uses (what libc6 must at least be)."""
    best: tuple[int, ...] = ()
    for p in paths:
        text = subprocess.run(["readelf", "-V", "-W", str(p)], capture_output=True, text=True).stdout
        for v in re.findall(r"Name: GLIBC_(\d+(?:\.\d+)+)", text):
            best = max(best, tuple(int(x) for x in v.split(".")))
    return ".".join(map(str, best)) if best else None


def system_package(soname: str) -> str | None:
    """The installed Debian package that provides a library, else the table's guess."""
    listing = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    paths = re.findall(rf"^\s+{re.escape(soname)} \(.*x86-64.*\) => (\S+)$", listing, re.M)
    for p in paths:
        for candidate in {p, os.path.realpath(p), p.replace("/usr/lib/", "/lib/", 1)}:
            found = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if found.returncode == 0:
                return found.stdout.split(":", 1)[0].strip()
    return KNOWN_PACKAGES.get(soname)


def dependencies(bundle: Path) -> tuple[list[str], list[str]]:
    """(Depends, Recommends) from the libraries the bundle's ELF files need but do not carry. A
    plugin that needs an OPTIONAL library (Qt's GTK theme) is optional as a whole: what only it
    needs (GTK, and cairo, pango… with it) is recommended, not required."""
    files = elf_files(bundle)
    inside = {p.name for p in bundle.rglob("*")}
    required: dict[str, set[str]] = {}
    optional: set[str] = set()
    for f in files:
        libs = [lib for lib in needed(f) if lib not in inside and not IGNORED.match(lib)]
        if any(lib in OPTIONAL for lib in libs):
            optional.update(libs)
            continue
        for lib in libs:
            required.setdefault(lib, set()).add(f.name)
    depends, recommends, unknown = set(), set(), []
    for lib in sorted(set(required) | optional):
        pkg = OPTIONAL.get(lib) or system_package(lib)
        if pkg is None:
            users = sorted(required.get(lib, {"an optional plugin"}))
            unknown.append(f"{lib} (needed by {', '.join(users)})")
        else:
            (depends if lib in required else recommends).add(pkg)
    if unknown:
        raise DependencyError(f"no Debian package known for {'; '.join(unknown)} (add it to KNOWN_PACKAGES)")
    glibc = glibc_needed(files)
    depends.discard("libc6")
    libc = [f"libc6 (>= {glibc})"] if glibc else ["libc6"]
    return libc + sorted(depends), sorted(recommends - depends)
