"""The installer build's rules without building a bundle: what each flavour leaves out, how the
Linux libraries are laid out, the licence notices, and the .deb made from a tiny fake bundle
(dpkg-deb; skipped where it is missing). `make package-test` checks a real bundle end to end."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reid_desktop import __version__

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"
sys.path.insert(0, str(PACKAGING))
bundle = importlib.import_module("bundle")
notices = importlib.import_module("notices")
deb = importlib.import_module("deb")
linux_deps = importlib.import_module("linux_deps")

needs_dpkg = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb is not installed")


def _file(path: Path, size: int = 10) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return str(path)


def test_flavours_leave_out_what_they_never_use(tmp_path):
    toc = [
        ("PySide6/Qt/translations/qt_de.qm", _file(tmp_path / "qt_de.qm", 100), "DATA"),
        ("PySide6/Qt/plugins/platforms/libqxcb.so", _file(tmp_path / "xcb.so"), "BINARY"),
        ("PySide6/Qt/plugins/platforms/libqeglfs.so", _file(tmp_path / "eglfs.so", 7), "BINARY"),
        ("torch/lib/libtorch_cuda_linalg.so", _file(tmp_path / "linalg.so", 30), "BINARY"),
        ("torch/lib/libtorch_cpu.so", _file(tmp_path / "cpu.so"), "BINARY"),
    ]
    saved: dict = {}
    kept = [e[0] for e in bundle.trim(toc, "cpu", saved)]
    bundle.trim(toc, "cpu", saved)  # another program wanting the same files: counted once
    assert kept == ["PySide6/Qt/plugins/platforms/libqxcb.so", "torch/lib/libtorch_cpu.so"]
    assert sum(saved["Qt translations"].values()) == 100
    assert sum(saved["torch CUDA linear algebra"].values()) == 30
    cuda = [e[0] for e in bundle.trim(toc, "cuda", {})]
    assert "torch/lib/libtorch_cuda_linalg.so" in cuda  # a GPU uses it
    assert bundle.spec_args(["--flavour", "cuda"]).flavour == "cuda"


def test_linux_layout_keeps_cuda_folders_one_copy_and_no_system_libraries(tmp_path, monkeypatch):
    site = tmp_path / "venv" / "site-packages"
    monkeypatch.setattr(bundle, "SYSTEM_LIBS", (str(tmp_path / "usr" / "lib") + "/",))
    cpu = _file(site / "torch" / "lib" / "libtorch_cpu.so", 50)
    toc = [
        ("torch/lib/libtorch_cpu.so", cpu, "BINARY"),
        ("libtorch_cpu.so", cpu, "BINARY"),  # the same file again at the top
        ("libcublas.so.13", _file(site / "nvidia" / "cu13" / "lib" / "libcublas.so.13"), "BINARY"),
        ("libX11.so.6", _file(tmp_path / "usr" / "lib" / "libX11.so.6", 20), "BINARY"),
        ("PIL/_imaging.so", _file(site / "PIL" / "_imaging.so"), "EXTENSION"),
    ]
    saved: dict = {}
    out = [e[0] for e in bundle.linux_layout(toc, saved)]
    assert out == ["torch/lib/libtorch_cpu.so", "nvidia/cu13/lib/libcublas.so.13", "PIL/_imaging.so"]
    assert {rule: sum(files.values()) for rule, files in saved.items()} == {
        "second copies of torch's libraries": 50,
        "system libraries (the .deb depends on them)": 20,
    }


def test_notices_carry_each_bundled_package_licence_text(tmp_path):
    from importlib import metadata

    dists = {n: metadata.distribution(n) for n in ("numpy", "onnxruntime", "pyside6-essentials")}
    extra = notices.app_licences()
    assert all(p.is_file() for paths in extra.values() for p in paths)
    missing = notices.write_notices(tmp_path / "licenses", dists, extra)
    assert missing == []
    summary = (tmp_path / "licenses" / "THIRD-PARTY-NOTICES.txt").read_text()
    for name in ("reid-desktop", "default-encoder", "numpy", "onnxruntime", "pyside6-essentials"):
        assert name in summary
    assert (tmp_path / "licenses" / "pyside6-essentials" / "LGPL-3.0.txt").is_file()  # the wheel has none
    assert (tmp_path / "licenses" / "onnxruntime" / "ThirdPartyNotices.txt").is_file()
    assert "MIT License" in (tmp_path / "licenses" / "reid-desktop" / "LICENSE").read_text()


@pytest.fixture
def fake_bundle(tmp_path) -> Path:
    """The shape of a bundle: the three programs (one a real ELF file), licences, resources."""
    top = tmp_path / "dist" / "reid-desktop"
    (top / "_internal" / "licenses").mkdir(parents=True)
    (top / "_internal" / "licenses" / "THIRD-PARTY-NOTICES.txt").write_text("numpy 2.4 BSD-3-Clause\n")
    shutil.copy2("/bin/true", top / "reid-desktop")  # links libc only
    for prog in ("reid", "reid-train"):
        (top / prog).write_text("#!/bin/sh\n")
        (top / prog).chmod(0o755)
    return top


@needs_dpkg
@pytest.mark.parametrize("flavour", ["cpu", "cuda"])
def test_deb_installs_under_opt_with_links_menu_entry_licences_and_dependencies(
    fake_bundle, tmp_path, flavour
):
    out = deb.build(fake_bundle, flavour, tmp_path / "out", work=tmp_path / "work", compression="gzip")
    name = "reid-desktop" if flavour == "cpu" else "reid-desktop-cuda"
    assert out.name.startswith(f"{name}_{__version__}_")
    info = subprocess.run(["dpkg-deb", "-I", str(out)], capture_output=True, text=True, check=True).stdout
    assert f"Package: {name}" in info and f"Version: {__version__}" in info
    assert "Depends: libc6 (>= 2." in info  # from the ELF file's glibc symbol versions
    assert ("Conflicts: reid-desktop\n" in info) == (flavour == "cuda")
    files = subprocess.run(["dpkg-deb", "-c", str(out)], capture_output=True, text=True, check=True).stdout
    for path in (
        "./opt/reid-desktop/reid-desktop",
        "./opt/reid-desktop/_internal/licenses/THIRD-PARTY-NOTICES.txt",
        "./usr/share/applications/reid-desktop.desktop",
        "./usr/share/icons/hicolor/scalable/apps/reid-desktop.svg",
        "./usr/share/mime/packages/reid-desktop.xml",
        f"./usr/share/doc/{name}/copyright",
    ):
        assert path in files
    for prog in ("reid-desktop", "reid", "reid-train"):
        assert f"./usr/bin/{prog} -> /opt/reid-desktop/{prog}" in files
    assert "root/root" in files  # owned by root, whoever built it
    assert not any((tmp_path / "work").iterdir())  # the staging tree is gone
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(out), str(root)], check=True)
    copyright_ = (root / "usr" / "share" / "doc" / name / "copyright").read_text()
    assert "License: MIT" in copyright_ and "numpy 2.4 BSD-3-Clause" in copyright_


@needs_dpkg
def test_a_library_no_package_is_known_for_stops_the_build_naming_it(fake_bundle, tmp_path, monkeypatch):
    monkeypatch.setattr(linux_deps, "needed", lambda path: ["libc.so.6", "libnot-a-real-lib.so.9"])
    with pytest.raises(deb.DebError, match=r"libnot-a-real-lib\.so\.9 \(needed by reid-desktop\)"):
        deb.build(fake_bundle, "cpu", tmp_path / "out", work=tmp_path / "work")
    assert not list((tmp_path / "out").glob("*.deb"))


def test_deb_refuses_a_folder_that_is_not_a_bundle(tmp_path):
    with pytest.raises(deb.DebError, match="is not a reid-desktop bundle"):
        deb.build(tmp_path, "cpu", tmp_path / "out", work=tmp_path / "work")


def test_what_only_an_optional_plugin_needs_is_recommended_not_required(fake_bundle, monkeypatch):
    shutil.copy2("/bin/true", fake_bundle / "_internal" / "libqgtk3.so")  # Qt's GTK theme plugin
    libs = {"libqgtk3.so": ["libc.so.6", "libgtk-3.so.0", "libcairo.so.2"]}
    monkeypatch.setattr(linux_deps, "needed", lambda p: libs.get(p.name, ["libc.so.6", "libz.so.1"]))
    packages = {"libc.so.6": "libc6", "libz.so.1": "zlib1g", "libcairo.so.2": "libcairo2"}
    monkeypatch.setattr(linux_deps, "system_package", packages.get)
    depends, recommends = linux_deps.dependencies(fake_bundle)
    assert depends[0].startswith("libc6 (>= 2.") and depends[1:] == ["zlib1g"]
    assert recommends == ["libcairo2", "libgtk-3-0"]


def test_cuda_flavour_takes_every_cuda_library_but_the_multi_node_plugins():
    libs = bundle.cuda_libraries()
    if not libs:
        pytest.skip("no nvidia-* wheels installed")
    dests = {dest for _, dest in libs}
    assert all(d.startswith("nvidia/") and d.endswith("/lib") for d in dests)
    names = {Path(src).name for src, _ in libs}
    assert "libcudnn_engines_precompiled.so.9" in names or not any("cudnn" in n for n in names)
    assert not any(
        n.startswith(("nvshmem_bootstrap_", "nvshmem_transport_", "libcufile_rdma")) for n in names
    )


def test_installer_icons_are_rendered_from_the_svg(qtbot, tmp_path):
    from PIL import Image

    icons = importlib.import_module("icons").render(tmp_path)
    assert Image.open(icons["ico"]).info["sizes"] >= {(16, 16), (256, 256)}
    icns = Image.open(icons["icns"])
    assert icns.size == (1024, 1024) and (16, 16, 2) in icns.info["sizes"]  # 16 pt @2x … 512 pt @2x
