"""What a new operator noticed: the scan banner, the crop grid's width, the export folder field,
and the help (F1) that agrees with the README."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QAction

from reid_desktop.ui.crops.browser import CropBrowser
from reid_desktop.ui.crops.thumbnails import ThumbnailCache
from reid_desktop.ui.shell.banner import INFO_SECONDS, Banner
from reid_desktop.ui.shell.help_dialogs import JOBS, HelpDialog, key_text

README = Path(__file__).resolve().parents[2] / "README.md"


def scan(qtbot, window, folders) -> None:
    window.add_folders([str(f) for f in folders], "folders")
    qtbot.waitUntil(lambda: window.job is None, timeout=30_000)


def test_scan_info_closes_by_itself_and_warnings_stay(qtbot, window, tmp_path, two_cameras):
    window.create_project(tmp_path / "p.reidproj")
    banner = window.banner
    assert banner.timer.interval() == INFO_SECONDS * 1000
    banner.timer.setInterval(50)  # the same timer, shortened for the test
    scan(qtbot, window, two_cameras[:1])
    assert banner.kind == "info" and "Scan finished" in banner.label.text()
    qtbot.waitUntil(lambda: not banner.isVisible(), timeout=5_000)

    (two_cameras[1] / "empty.jpg").write_bytes(b"")
    scan(qtbot, window, two_cameras[1:])
    assert banner.kind == "warning" and banner.isVisible()
    qtbot.wait(300)  # six times the shortened info timeout
    assert banner.isVisible() and not banner.timer.isActive()


def test_pointer_on_an_info_banner_holds_it_open(qtbot):
    banner = Banner()
    qtbot.addWidget(banner)
    banner.show_message("Exported 3 identities.", "info")
    assert banner.timer.isActive()
    banner.enterEvent(None)
    assert not banner.timer.isActive() and banner.isVisible()
    banner.leaveEvent(None)
    assert banner.timer.isActive()
    banner.show_message("Scan cancelled.", "warning")
    assert not banner.timer.isActive()


def test_crop_grid_fills_its_width_at_every_size(qtbot, project, two_cameras):
    from reid_desktop.core.ingest.scan import ingest
    from reid_desktop.core.jobs import run_job

    run_job(ingest(project, two_cameras))
    browser = CropBrowser(ThumbnailCache())
    qtbot.addWidget(browser)
    browser.set_project(project)
    browser.show()
    for width, zoom in ((1000, 96), (1366, 96), (777, 64), (900, 192)):
        browser.zoom.setValue(zoom)
        browser.resize(width, 600)
        qtbot.wait(20)
        avail = browser.grid.viewport().width()
        cell = browser.grid.gridSize()
        columns = avail // cell.width()
        assert columns >= 1 and cell.width() >= zoom + 24 and cell.height() == zoom * 2 + 28
        assert avail - columns * cell.width() < columns  # only rounding is left over, no strip
        assert browser.grid.iconSize() == QSize(zoom, zoom * 2)


def test_export_dialog_shows_the_whole_folder_path(qtbot, project, tmp_path):
    from reid_desktop.ui.export.dialog import ExportDialog

    dlg = ExportDialog(project)
    qtbot.addWidget(dlg)
    dlg.show()
    edit = dlg.out.edit
    path = str(tmp_path / "exports" / "lobby-cameras-2024-market1501")
    dlg.out.setText(path)
    assert edit.toolTip() == path
    assert edit.minimumWidth() >= min(edit.fontMetrics().horizontalAdvance(path), 600)


def readme_shortcuts() -> set[str]:
    """Every key combination in the README's shortcut table."""
    table = README.read_text().split("### Keyboard shortcuts", 1)[1].split("\n## ", 1)[0]
    keys = set()
    for line in table.splitlines()[4:]:
        cell = line.split("|")[1]
        keys |= {k.strip() for k in re.split(r",|/|\bor\b|[()]", cell) if k.strip()}
    return keys


def test_help_groups_shortcuts_by_screen_and_agrees_with_the_readme(qtbot, window, tmp_path):
    window.create_project(tmp_path / "p.reidproj")
    dlg = window.show_help()
    assert isinstance(dlg, HelpDialog) and dlg.tabs.tabText(0) == "How to work"
    assert dlg.tabs.currentIndex() == HelpDialog.SHORTCUTS
    page = dlg.tabs.widget(1).findChildren(type(dlg.tabs.widget(0)))
    text = " ".join(w.text() for w in page)
    screens = re.findall(r"<td colspan=2[^>]*><b>([^<]+)</b>", text)
    assert screens == ["Everywhere", "Crops", "Review", "Identities", "Models", "Map", JOBS]
    assert "Esc" in text and "1–9" in text and "Candidate 1<" not in text
    # Each screen's actions are listed under it.
    crops = text.split("<b>Crops</b>")[1].split("<b>Review</b>")[0]
    assert "Larger Thumbnails" in crops and "Same" not in crops
    # The README names the first key of every action, and F1 shows every key the README names.
    shown = {k for a in window.findChildren(QAction) for k in key_text(a).split(" or ") if k}
    primary = {key_text(a).split(" or ")[0] for a in window.findChildren(QAction) if key_text(a)}
    primary = {k for k in primary if not k.isdigit()} | {"1–9", "Esc"}
    readme = readme_shortcuts()
    assert primary <= readme, primary - readme
    assert readme <= shown | {"1–9", "Esc"}, readme - shown
    assert key_text(window.act_zoom_in).startswith("Ctrl+=")
    dlg.close()


def test_how_to_work_names_real_shortcuts(qtbot, window):
    dlg = window.show_help(HelpDialog.HOW_TO)
    assert dlg.tabs.currentIndex() == HelpDialog.HOW_TO
    howto = dlg.tabs.widget(0).text()
    assert howto.count("<li>") == 6  # the README's six steps
    bound = {k for a in window.findChildren(QAction) for k in key_text(a).split(" or ")}
    for keys in re.findall(r"\((Ctrl[^)]*|F2|Del)\)", howto):
        for k in re.split(r" / | or ", keys):
            assert k in bound, k
    dlg.close()
