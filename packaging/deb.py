"""Build the Linux installer: a .deb of a one-folder bundle, with dpkg-deb only (no network).

    python packaging/deb.py dist/cpu/reid-desktop --flavour cpu --out dist/

It installs the bundle under /opt/reid-desktop, links reid-desktop, reid and reid-train into
/usr/bin, adds a desktop entry and icon, and carries the version and the licence texts
(/usr/share/doc/reid-desktop/copyright points at every third-party text in the bundle). Depends
lists the system libraries the bundle links against, found from the ELF files themselves.
The CUDA flavour is the package reid-desktop-cuda, which replaces reid-desktop (same folder).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "packaging")]

from linux_deps import DependencyError, dependencies  # noqa: E402

from reid_desktop import __version__  # noqa: E402

PREFIX = "/opt/reid-desktop"
PROGRAMS = ("reid-desktop", "reid", "reid-train")
MAINTAINER = "reid-desktop maintainers <reid-desktop@localhost>"


class DebError(Exception):
    """Why the package cannot be built, in one line."""


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    flavour: str
    arch: str


def package_for(flavour: str, version: str = __version__) -> Package:
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
    return Package(
        "reid-desktop" if flavour == "cpu" else "reid-desktop-cuda", version, flavour, arch or "amd64"
    )


def package_name(deb: Path) -> str:
    return subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Package"], capture_output=True, text=True, check=True
    ).stdout.strip()


# ---- the package ------------------------------------------------------------------------------


def desktop_entry() -> str:
    return (
        "[Desktop Entry]\nType=Application\nName=reid-desktop\n"
        "GenericName=Person re-identification review\n"
        "Comment=Review cross-camera person matches and curate identities, offline\n"
        "Exec=reid-desktop %f\nIcon=reid-desktop\nTerminal=false\n"
        "Categories=Graphics;Science;\nMimeType=application/x-reidproj;\nKeywords=re-id;camera;identity;\n"
    )


def copyright_text(bundle: Path) -> str:
    lic = (ROOT / "LICENSE").read_text(encoding="utf-8")
    notices = bundle / "_internal" / "licenses" / "THIRD-PARTY-NOTICES.txt"
    listing = notices.read_text(encoding="utf-8") if notices.is_file() else "(no notices in this bundle)\n"
    return (
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
        "Upstream-Name: reid-desktop\n\nFiles: *\nCopyright: the reid-desktop contributors\nLicense: MIT\n\n"
        f"{lic}\n"
        f"Third-party components in {PREFIX}; their licence texts are in\n"
        f"{PREFIX}/_internal/licenses/<component>/:\n\n{listing}"
    )


def control(pkg: Package, size_kb: int, depends: list[str], recommends: list[str]) -> str:
    lines = [
        f"Package: {pkg.name}",
        f"Version: {pkg.version}",
        f"Architecture: {pkg.arch}",
        f"Maintainer: {MAINTAINER}",
        f"Installed-Size: {size_kb}",
        f"Depends: {', '.join(depends)}",
    ]
    if recommends:
        lines.append(f"Recommends: {', '.join(recommends)}")
    if pkg.flavour == "cuda":  # both install /opt/reid-desktop: one at a time
        lines += ["Provides: reid-desktop", "Conflicts: reid-desktop", "Replaces: reid-desktop"]
    else:
        lines += ["Conflicts: reid-desktop-cuda", "Replaces: reid-desktop-cuda"]
    what = "CPU build: PyTorch runs on the CPU" if pkg.flavour == "cpu" else "CUDA build: NVIDIA GPUs"
    lines += [
        "Section: science",
        "Priority: optional",
        f"Description: offline cross-camera person re-identification review ({pkg.flavour})",
        " Turns folders of person crops from several cameras into verified identities:",
        " ONNX encoders, a review screen with stripe heatmaps, identity curation, Market-1501",
        f" export and a bundled PyTorch fine-tuning trainer (reid-train). {what}.",
    ]
    return "\n".join(lines) + "\n"


# Project files open with the app from a file manager.
MIME_XML = """<?xml version="1.0" encoding="UTF-8"?>
<mime-info xmlns="http://www.freedesktop.org/standards/shared-mime-info">
  <mime-type type="application/x-reidproj">
    <comment>reid-desktop project</comment>
    <glob pattern="*.reidproj"/>
  </mime-type>
</mime-info>
"""
# Desktop menus, file types and icon caches refresh when their tools exist; a failure never fails the install.
POSTINST = """#!/bin/sh
set -e
run() { command -v "$1" >/dev/null 2>&1 && "$@" || true; }
if [ "$1" = configure ]; then
  run update-desktop-database -q /usr/share/applications
  run update-mime-database /usr/share/mime
  run gtk-update-icon-cache -q -t /usr/share/icons/hicolor
fi
exit 0
"""
POSTRM = """#!/bin/sh
set -e
run() { command -v "$1" >/dev/null 2>&1 && "$@" || true; }
if [ "$1" = remove ] || [ "$1" = purge ]; then
  run update-desktop-database -q /usr/share/applications
  run update-mime-database /usr/share/mime
fi
exit 0
"""


def _copy_tree(src: Path, dst: Path) -> None:
    """Hard links when on the same file system (a bundle is gigabytes), else copies."""
    try:
        shutil.copytree(src, dst, symlinks=True, copy_function=os.link)
    except OSError:
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(src, dst, symlinks=True)


def stage(bundle: Path, staging: Path, pkg: Package, extra: dict[str, bytes] | None = None) -> Path:
    """The package's file tree under `staging` (DEBIAN/ included); `extra` adds files (tests)."""
    if not (bundle / "reid-desktop").is_file():
        raise DebError(f"{bundle} is not a reid-desktop bundle (no reid-desktop program in it)")
    if staging.exists():
        shutil.rmtree(staging)
    opt = staging / PREFIX.lstrip("/")
    opt.parent.mkdir(parents=True)
    _copy_tree(bundle, opt)
    for rel, data in (extra or {}).items():
        (opt / rel).parent.mkdir(parents=True, exist_ok=True)
        (opt / rel).write_bytes(data)
    usr_bin = staging / "usr" / "bin"
    usr_bin.mkdir(parents=True)
    for prog in PROGRAMS:
        (usr_bin / prog).symlink_to(f"{PREFIX}/{prog}")
    apps = staging / "usr" / "share" / "applications"
    apps.mkdir(parents=True)
    (apps / "reid-desktop.desktop").write_text(desktop_entry())
    mime = staging / "usr" / "share" / "mime" / "packages"
    mime.mkdir(parents=True)
    (mime / "reid-desktop.xml").write_text(MIME_XML)
    icons = staging / "usr" / "share" / "icons" / "hicolor" / "scalable" / "apps"
    icons.mkdir(parents=True)
    shutil.copyfile(ROOT / "resources" / "icons" / "reid-desktop.svg", icons / "reid-desktop.svg")
    doc = staging / "usr" / "share" / "doc" / pkg.name
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(copyright_text(bundle))
    try:
        depends, recommends = dependencies(bundle)
    except DependencyError as exc:
        raise DebError(str(exc)) from None
    size_kb = sum(p.lstat().st_size for p in staging.rglob("*")) // 1024
    debian = staging / "DEBIAN"
    debian.mkdir()
    (debian / "control").write_text(control(pkg, size_kb, depends, recommends))
    for name, text in (("postinst", POSTINST), ("postrm", POSTRM)):
        (debian / name).write_text(text)
        (debian / name).chmod(0o755)
    return staging


def build(
    bundle: Path,
    flavour: str,
    out: Path,
    *,
    version: str = __version__,
    work: Path | None = None,
    compression: str = "zstd",
    extra: dict[str, bytes] | None = None,
) -> Path:
    """Stage and build the .deb; returns its path (out/<name>_<version>_<arch>.deb)."""
    pkg = package_for(flavour, version)
    staging = stage(bundle, (work or out / "deb-staging") / f"{pkg.name}_{version}", pkg, extra)
    out.mkdir(parents=True, exist_ok=True)
    deb = out / f"{pkg.name}_{version}_{pkg.arch}.deb"
    tmp = deb.with_name(f".{deb.name}.part")
    cmd = ["dpkg-deb", "--root-owner-group", f"-Z{compression}", "--build", str(staging), str(tmp)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise DebError(
            f"dpkg-deb failed: {done.stderr.strip().splitlines()[-1] if done.stderr else done.returncode}"
        )
    os.replace(tmp, deb)  # never a half-written .deb where users look
    shutil.rmtree(staging)
    return deb


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="deb.py", description=__doc__.splitlines()[0])
    ap.add_argument("bundle", type=Path, help="the one-folder bundle (dist/<flavour>/reid-desktop)")
    ap.add_argument("--flavour", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--out", type=Path, default=ROOT / "dist")
    ap.add_argument("--version", default=__version__)
    args = ap.parse_args(argv)
    try:
        deb = build(args.bundle, args.flavour, args.out, version=args.version, work=ROOT / "build")
    except DebError as exc:
        print(f"deb.py: error: {exc}", file=sys.stderr)
        return 1
    print(f"{deb} ({deb.stat().st_size / 1e6:,.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
