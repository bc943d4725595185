"""An installed reid-desktop, as `make package-test` uses it: installed with dpkg (as root) or
unpacked into a temporary root (anyone), and its programs run the way an operator's shell runs
them: no project virtualenv, no PYTHONPATH, a fresh home, the install folder read-only.

Read-only: as root, each command runs in a private mount namespace where the install folder is a
read-only bind mount (so even root cannot write there); otherwise the unpacked tree is made
unwritable (chmod). Either way `changes()` compares the folder with its listing after install."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = Path("/opt/reid-desktop")
SYSTEM_LIBS = ("/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/")


@dataclass
class Result:
    argv: list[str]
    rc: int
    out: str
    err: str
    seconds: float


@dataclass
class Installed:
    mode: str  # "dpkg" or "extract"
    home: Path  # the operator's home (projects live there, never in the install folder)
    root: Path | None = None  # the temporary root of an extracted install
    manifest: dict[str, tuple[int, int]] = field(default_factory=dict)
    dpkg_notes: list[str] = field(default_factory=list)

    @property
    def prefix(self) -> Path:
        return PREFIX if self.root is None else self.root / PREFIX.relative_to("/")

    def program(self, name: str) -> str:
        """What the shell would start: /usr/bin/<name> (a link into /opt) for dpkg installs."""
        return f"/usr/bin/{name}" if self.mode == "dpkg" else str(self.prefix / name)

    # ---- install / uninstall ---------------------------------------------------------------------
    def install(self, deb: Path) -> float:
        t0 = time.monotonic()
        if self.mode == "dpkg":
            done = subprocess.run(["dpkg", "-i", str(deb)], capture_output=True, text=True)
            if done.returncode != 0 and "dependency problems" in done.stderr:
                # A headless machine may lack the X11 libraries the GUI needs on a display; the
                # offscreen runs here do not use them. Say which, then configure regardless.
                self.dpkg_notes = sorted(set(re.findall(r"depends on ([\w.+-]+)", done.stderr)))
                done = subprocess.run(
                    ["dpkg", "--configure", "-a", "--force-depends"], capture_output=True, text=True
                )
            if done.returncode != 0:
                raise RuntimeError(f"dpkg -i {deb.name} failed: {done.stderr.strip()[-500:]}")
        else:
            self.root = self.root or self.home.parent / "root"
            if self.prefix.exists():  # an upgrade of an unpacked tree: the new files replace the old
                self._writable(True)
                shutil.rmtree(self.prefix)
            subprocess.run(["dpkg-deb", "-x", str(deb), str(self.root)], check=True)
            self._writable(False)
        self.manifest = self.listing()
        return time.monotonic() - t0

    def uninstall(self, package: str) -> float:
        t0 = time.monotonic()
        if self.mode == "dpkg":
            subprocess.run(["dpkg", "--purge", package], check=True, capture_output=True)
        else:
            self._writable(True)
            shutil.rmtree(self.root)
        return time.monotonic() - t0

    def _writable(self, on: bool) -> None:
        mode = "u+w" if on else "a-w"
        subprocess.run(["chmod", "-R", mode, str(self.prefix)], check=True)

    def listing(self) -> dict[str, tuple[int, int]]:
        """Every file and link of the install folder with its size and modification time."""
        return {
            str(p.relative_to(self.prefix)): (p.lstat().st_size, p.lstat().st_mtime_ns)
            for p in self.prefix.rglob("*")
            if p.is_symlink() or not p.is_dir()
        }

    def changes(self) -> list[str]:
        """Files added, removed or modified in the install folder since it was installed."""
        now = self.listing()
        return sorted(k for k in set(now) | set(self.manifest) if now.get(k) != self.manifest.get(k))

    # ---- running ---------------------------------------------------------------------------------
    def env(self, **extra: str) -> dict[str, str]:
        path = "/usr/bin:/bin" if self.mode == "dpkg" else f"{self.prefix}:/usr/bin:/bin"
        runtime = self.home / ".runtime"
        runtime.mkdir(mode=0o700, exist_ok=True)
        return {
            "PATH": path,
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "QT_QPA_PLATFORM": "offscreen",
            "XDG_RUNTIME_DIR": str(runtime),
            "TMPDIR": str(self.home / "tmp"),
            **extra,
        }

    def wrap(self, argv: list[str], damaged: Path | None = None) -> list[str]:
        """As root: run in a mount namespace with the install folder read-only, and `damaged` (a
        file in it) seen as empty, as a broken install or disk would leave it."""
        if self.mode != "dpkg":
            return argv
        p = str(self.prefix)
        script = f'mount --bind "{p}" "{p}" && mount -o remount,bind,ro "{p}"'
        if damaged is not None:  # after: binding the folder again would hide a mount inside it
            script += f' && mount --bind "{self.garbage()}" "{damaged}"'
        return [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            f'{script} && exec "$@"',
            "sh",
            *argv,
        ]

    def garbage(self) -> Path:
        """What a damaged file holds here: a copy cut short and overwritten, not a model."""
        path = self.home / "damaged.bin"
        path.write_bytes(b"\x00" * 4096)
        return path

    @contextlib.contextmanager
    def _damage(self, damaged: Path | None):
        """An unpacked install: swap `damaged` for a garbage file while the command runs."""
        if damaged is None or self.mode == "dpkg":
            yield
            return
        aside = damaged.with_name(damaged.name + ".aside")
        subprocess.run(["chmod", "u+w", str(damaged.parent)], check=True)
        os.rename(damaged, aside)
        shutil.copyfile(self.garbage(), damaged)
        try:
            yield
        finally:
            damaged.unlink()
            os.rename(aside, damaged)
            subprocess.run(["chmod", "a-w", str(damaged.parent)], check=True)

    def run(
        self, argv: list[str], *, timeout: float = 900, damaged: Path | None = None, **env: str
    ) -> Result:
        (self.home / "tmp").mkdir(exist_ok=True)
        t0 = time.monotonic()
        with self._damage(damaged):
            done = subprocess.run(
                self.wrap(argv, damaged),
                capture_output=True,
                text=True,
                env=self.env(**env),
                cwd=self.home,
                timeout=timeout,
            )
        return Result(argv, done.returncode, done.stdout, done.stderr, time.monotonic() - t0)

    def time_to_window(self, argv: list[str]) -> tuple[float, Result]:
        """Seconds from starting the GUI to its first window (its smoke-test "window" line)."""
        with tempfile.TemporaryFile("w+") as err:
            t0 = time.monotonic()
            proc = subprocess.Popen(
                self.wrap(argv), stdout=subprocess.PIPE, stderr=err, text=True, env=self.env(), cwd=self.home
            )
            first, lines = None, []
            for line in proc.stdout:
                lines.append(line)
                if first is None and '"window"' in line:
                    first = time.monotonic() - t0
            rc = proc.wait(timeout=300)
            seconds = time.monotonic() - t0
            err.seek(0)
            result = Result(argv, rc, "".join(lines), err.read(), seconds)
        return (first if first is not None else float("nan")), result

    def loaded_libraries(self, debug_log: Path) -> tuple[int, list[str]]:
        """(how many shared libraries a program loaded, those from outside the install folder and
        the system's library folders: a leak of the build machine's environment), from its
        LD_DEBUG=libs logs."""
        loaded = set()
        for log in debug_log.parent.glob(debug_log.name + ".*"):
            loaded |= set(re.findall(r"calling init: (\S+)", log.read_text(errors="replace")))
        inside = (str(self.prefix) + "/", *SYSTEM_LIBS)
        return len(loaded), sorted(p for p in loaded if not p.startswith(inside) and os.path.isabs(p))

    def read_only(self) -> bool:
        """Whether the programs, run as they are here, cannot write into the install folder."""
        probe = self.prefix / ".write-probe"
        r = self.run(["sh", "-c", f'touch "{probe}"'])
        if r.rc == 0:
            probe.unlink()
        return r.rc != 0
