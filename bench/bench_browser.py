"""Browser benchmark: a project of 10,000 crops in the main window (offscreen).

Measures opening the project to a painted grid, and paging through the grid (scroll one page +
paint) while thumbnails decode in the background. The baseline, run in the same process, is the
same paging over a grid whose thumbnails are already cached, so the ratio shows what background
decoding costs the GUI thread.

    python bench/bench_browser.py [--n 10000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).parent))

from bench_scan import make_crops  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from reid_desktop.core.ingest.scan import ingest  # noqa: E402
from reid_desktop.core.jobs import run_job  # noqa: E402
from reid_desktop.store import Project  # noqa: E402


def page_through(app, window, pages: int) -> list[float]:
    bar = window.browser.grid.verticalScrollBar()
    bar.setValue(0)
    times = []
    for _ in range(pages):
        t = time.perf_counter()
        bar.setValue(bar.value() + bar.pageStep())
        window.browser.grid.viewport().repaint()
        app.processEvents()
        times.append(time.perf_counter() - t)
    return times


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--pages", type=int, default=40)
    args = ap.parse_args()
    app = QApplication([])
    from reid_desktop.ui.shell.main_window import MainWindow

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folders = make_crops(root / "crops", args.n, 2)
        with Project.create(root / "b.reidproj") as p:
            run_job(ingest(p, [str(f) for f in folders], "folders"))
        w = MainWindow(QSettings(str(root / "s.ini"), QSettings.IniFormat))
        w.resize(1280, 800)
        w.show()
        app.processEvents()
        t = time.perf_counter()
        w.open_project(root / "b.reidproj")
        w.browser.grid.viewport().repaint()
        app.processEvents()
        t_open = time.perf_counter() - t
        cold = page_through(app, w, args.pages)
        # Let every thumbnail the pages asked for finish, then page again: the baseline.
        while w.thumbnails.pending():
            app.processEvents()
            time.sleep(0.01)
        warm = page_through(app, w, args.pages)
        w.close()
    p95 = lambda xs: sorted(xs)[int(0.95 * (len(xs) - 1))]  # noqa: E731
    print(f"crops: {args.n}")
    print(f"open project to painted grid: {t_open * 1000:.0f} ms")
    print(
        f"page + paint while decoding:  median {statistics.median(cold) * 1000:.1f} ms, "
        f"p95 {p95(cold) * 1000:.1f} ms"
    )
    print(
        f"page + paint, cached (base):  median {statistics.median(warm) * 1000:.1f} ms, "
        f"p95 {p95(warm) * 1000:.1f} ms"
    )
    print(f"ratio decoding/cached (median): {statistics.median(cold) / statistics.median(warm):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
