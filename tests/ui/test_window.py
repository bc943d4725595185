"""pytest-qt tests driving the main window and its models (offscreen, synthetic crops)."""

from __future__ import annotations

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from reid_desktop.core.jobs import Cancelled, Progress
from reid_desktop.store import Project, SkippedFile
from reid_desktop.ui.common.worker import prepare_job
from reid_desktop.ui.crops.camera_model import CameraIdRole, CameraListModel
from reid_desktop.ui.crops.crop_model import CropIdRole, CropItem, CropListModel
from reid_desktop.ui.crops.skipped_model import SkippedTableModel
from reid_desktop.ui.shell.main_window import MainWindow


def scan(qtbot, window: MainWindow, folders, layout="auto"):
    handle = window.add_folders([str(f) for f in folders], layout)
    assert handle is not None
    # The window's own connection clears window.job; a late waitSignal could miss a quick job.
    qtbot.waitUntil(lambda: window.job is None, timeout=30_000)
    return handle


def test_create_project_add_folders_and_see_counts(qtbot, window, tmp_path, two_cameras):
    assert window.stack.currentIndex() == 0  # welcome page
    assert not window.act_add.isEnabled()
    assert window.create_project(tmp_path / "demo")
    assert window.project.path.name == "demo.reidproj"
    assert window.stack.currentIndex() == 1
    assert "demo.reidproj" in window.windowTitle()
    scan(qtbot, window, two_cameras)
    assert window.status_counts.text() == "2 camera(s) · 24 crops"
    names = [s.camera.name for s in window.browser.cameras.stats()]
    assert names == ["cam1", "cam2"]
    assert window.browser.crops.rowCount() == 24  # "All cameras" is selected
    assert "24 crops added" in window.banner.label.text().replace("<b>", "").replace("</b>", "")
    # Choosing a camera filters the grid.
    window.browser.select_camera_row(2)
    assert window.browser.crops.rowCount() == 12
    assert {window.browser.crops.item(r).camera for r in range(12)} == {"cam2"}
    # The file filter narrows what is shown.
    window.browser.filter.setText("p000_")
    assert window.browser.proxy.rowCount() == 2
    assert window.browser.count_label.text() == "2 of 12 crops shown"


def test_thumbnails_are_decoded_off_the_gui_thread(qtbot, window, tmp_path, two_cameras):
    window.create_project(tmp_path / "thumbs.reidproj")
    scan(qtbot, window, two_cameras[:1])
    model = window.browser.crops
    window.thumbnails.wait(5000)
    window.thumbnails.clear()  # the grid may already have asked for (and got) it while painting
    first = model.data(model.index(0), Qt.DecorationRole)
    assert first is window.thumbnails.placeholder  # not decoded yet: never blocks the view
    path = model.item(0).path
    qtbot.waitUntil(lambda: window.thumbnails.get(path) is not None, timeout=10_000)
    icon = model.data(model.index(0), Qt.DecorationRole)
    assert icon is not window.thumbnails.placeholder
    assert not icon.pixmap(64, 128).isNull()


def test_bad_files_reported_and_shown(qtbot, window, tmp_path, two_cameras):
    cam = two_cameras[0]
    (cam / "empty.jpg").write_bytes(b"")
    (cam / "notes.jpg").write_text("hello")
    window.create_project(tmp_path / "bad.reidproj")
    scan(qtbot, window, [cam])
    assert window.banner.isVisible()
    assert window.banner.action.text() == "Show skipped files…"
    assert window.status_counts.text() == "1 camera(s) · 12 crops · 2 skipped"
    dlg = window.show_skipped()
    assert "2 files were</b> not added" in dlg.header.text()
    reasons = {i.path: i.reason for i in dlg.model.items()}
    assert reasons["empty.jpg"].startswith("empty file")
    assert reasons["notes.jpg"].startswith("not an image")
    dlg.filter.setText("empty")
    assert [i.path for i in dlg.visible_items()] == ["empty.jpg"]
    out = tmp_path / "skipped.csv"
    dlg.export_csv(out)
    lines = out.read_text().splitlines()
    assert lines[0] == "folder,file,reason,seen_at" and len(lines) == 2
    dlg.close()


def test_skipped_files_dialog_with_nothing_skipped_says_so(qtbot, window, tmp_path, two_cameras):
    window.create_project(tmp_path / "clean.reidproj")
    scan(qtbot, window, two_cameras[:1])
    dlg = window.show_skipped()
    assert dlg.model.rowCount() == 0
    assert "fix or remove" not in dlg.header.text() and "was added" in dlg.header.text()
    dlg.close()


def test_rescan_picks_up_new_and_missing(qtbot, window, tmp_path, two_cameras):
    cam = two_cameras[0]
    window.create_project(tmp_path / "re.reidproj")
    scan(qtbot, window, [cam])
    (cam / "p000_v0_s1.jpg").unlink()
    Image.new("RGB", (40, 100), (10, 200, 30)).save(cam / "new one.jpg")
    assert window.rescan() is not None
    qtbot.waitUntil(lambda: window.job is None, timeout=30_000)
    text = window.banner.label.text()
    assert "<b>1</b> crops added" in text and "1 missing since last scan" in text
    s = window.browser.cameras.stats()[0]
    assert (s.present, s.missing) == (12, 1)


def test_opening_a_bad_file_explains_and_keeps_state(qtbot, window, tmp_path):
    bad = tmp_path / "not-a-project.reidproj"
    bad.write_text("plain text")
    before = bad.read_bytes()
    assert not window.open_project(bad)
    assert window.project is None
    boxes = [b for b in window.findChildren(QMessageBox) if b.objectName() == "errorBox"]
    assert boxes and "not a reid-desktop project" in boxes[-1].text()
    assert bad.read_bytes() == before
    boxes[-1].close()


def test_recent_projects_are_remembered(qtbot, window, tmp_path):
    p = tmp_path / "recent.reidproj"
    window.create_project(p)
    window.close_project()
    assert window.stack.currentIndex() == 0
    items = [window.welcome.recent.item(i).data(Qt.UserRole) for i in range(window.welcome.recent.count())]
    assert items == [str(p)]
    window.welcome.recentChosen.emit(str(p))
    assert window.project is not None and window.project.path == p


def test_window_size_and_thumbnail_size_are_kept_between_sessions(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from reid_desktop.ui.shell.main_window import MainWindow

    settings = QSettings(str(tmp_path / "layout.ini"), QSettings.IniFormat)
    first = MainWindow(settings)
    qtbot.addWidget(first)
    first.show()
    first.resize(640, 480)  # as small as its layout allows, inside the offscreen screen
    first.browser.zoom.setValue(150)
    size = (first.width(), first.height())
    assert size != (1180, 760)  # not the default
    first.close()
    second = MainWindow(settings)
    qtbot.addWidget(second)
    screen = second.screen().availableGeometry().width()
    assert second.height() == size[1]
    assert abs(second.width() - min(size[0], screen)) <= 8  # kept on the screen (less its frame)
    assert second.browser.zoom.value() == 150
    settings.setValue("crops/thumbnailWidth", "not a number")  # a damaged value keeps the default
    settings.setValue("window/geometry", b"garbage")
    third = MainWindow(settings)
    qtbot.addWidget(third)
    assert third.browser.zoom.value() == 96


def test_worker_adapter_reports_progress_result_failure_and_cancel(qtbot):
    def counting(token):
        for i in range(3):
            yield Progress(i + 1, 3, f"step {i + 1}")
        return "result"

    seen = []
    h = prepare_job("count", counting)
    h.progress.connect(seen.append)
    with qtbot.waitSignal(h.finished, timeout=5000) as blocker:
        h.start()
    assert blocker.args == ["result"]
    assert seen and seen[-1].done == 3

    def failing(token):
        yield Progress(0, 1)
        raise ValueError("disk on fire")

    h = prepare_job("fail", failing)
    with qtbot.waitSignal(h.failed, timeout=5000) as blocker:
        h.start()
    assert blocker.args == ["disk on fire"]

    def endless(token):
        while True:
            token.raise_if_cancelled()
            yield Progress(0, None, "working")

    h = prepare_job("endless", endless).start()
    with qtbot.waitSignal(h.cancelled, timeout=5000):
        h.cancel()
    assert not h.running
    assert issubclass(Cancelled, Exception)


def test_progress_dialog_cancel_stops_the_job(qtbot, window, tmp_path):
    import time

    from reid_desktop.ui.common.progress_dialog import JobProgressDialog

    def slow(token):
        for i in range(1_000_000):
            token.raise_if_cancelled()
            time.sleep(0.001)
            yield Progress(i, 1_000_000, f"{i}")
        return None

    h = prepare_job("slow", slow)
    dlg = JobProgressDialog(h, "Slow work", window)
    h.start()
    from PySide6.QtWidgets import QPushButton

    qtbot.waitSignal(h.progress, timeout=5000).wait()
    with qtbot.waitSignal(h.cancelled, timeout=5000):
        qtbot.mouseClick(dlg.findChild(QPushButton), Qt.LeftButton)
    assert "Cancelling" in dlg.labelText() or not dlg.isVisible()


def test_item_models_without_a_window(qtbot):
    items = [CropItem(i, "cam1", f"a/{i}.jpg", f"/x/a/{i}.jpg", 48, 128, "present", "7") for i in range(5)]
    model = CropListModel()
    model.set_items(items)
    assert model.rowCount() == 5
    idx = model.index(3)
    assert model.data(idx) == "3.jpg"
    assert model.data(idx, CropIdRole) == 3
    assert "ground truth person: 7" in model.data(idx, Qt.ToolTipRole)

    project = None
    cams = CameraListModel()
    assert cams.rowCount() == 1 and cams.data(cams.index(0)).startswith("All cameras\n0 crops")
    assert project is None
    skipped = SkippedTableModel([SkippedFile(None, "/r", "x.jpg", "empty file (0 bytes)", "t")])
    assert skipped.rowCount() == 1 and skipped.columnCount() == 3
    assert skipped.data(skipped.index(0, 1)) == "empty file (0 bytes)"


def test_camera_model_counts(project, two_cameras):
    from reid_desktop.core.ingest.scan import ingest
    from reid_desktop.core.jobs import run_job

    run_job(ingest(project, two_cameras))
    m = CameraListModel()
    m.set_stats(project.cameras.stats())
    assert m.rowCount() == 3
    assert m.data(m.index(0)) == "All cameras\n24 crops"
    assert m.data(m.index(1)) == "cam1\n12 crops"
    assert m.data(m.index(1), CameraIdRole) == project.cameras.by_name("cam1").id
    assert isinstance(project, Project)
