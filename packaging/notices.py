"""The licence texts of everything a bundle carries: for each package that owns a collected file,
the texts its wheel installed (or, where it installed none, the texts its licence names, kept in
packaging/licenses/), plus the app's, the default encoder's and Python's; and one summary,
THIRD-PARTY-NOTICES.txt. Used by reid-desktop.spec; the .deb's copyright file points at them."""

from __future__ import annotations

import fnmatch
import os
import shutil
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

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
