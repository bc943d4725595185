"""A new operator's first minutes: an empty project says how to add cameras, and the Add dialog
takes several folders from one chooser."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel
from PySide6.QtWidgets import QLabel, QListView, QPushButton

from reid_desktop.ui.crops.add_folders_dialog import AddFoldersDialog


def test_an_empty_project_shows_how_to_add_camera_folders(qtbot, window, tmp_path, two_cameras, monkeypatch):
    opened = []
    monkeypatch.setattr(AddFoldersDialog, "exec", lambda self: opened.append(self) or 0)
    w = window
    w.create_project(tmp_path / "new.reidproj")
    hint = w.browser.empty_hint
    assert hint.isVisible() and "Add Camera Folders" in hint.findChild(QLabel).text()
    hint.findChild(QPushButton).click()
    assert len(opened) == 1  # the Add Camera Folders dialog
    w.add_folders([str(c) for c in two_cameras], "folders")
    qtbot.waitUntil(lambda: w.job is None, timeout=60_000)
    assert not hint.isVisible()


def test_the_folder_chooser_takes_several_folders(qtbot, tmp_path):
    for name in ("cam1", "cam2", "cam3"):
        (tmp_path / name).mkdir()
    dlg = AddFoldersDialog(None, str(tmp_path))
    qtbot.addWidget(dlg)
    picker = dlg.folder_picker()
    qtbot.addWidget(picker)
    picker.setDirectory(str(tmp_path))
    picker.show()
    view = picker.findChild(QListView, "listView")
    qtbot.waitUntil(lambda: view.model().rowCount(view.rootIndex()) == 3, timeout=10_000)
    root = view.rootIndex()
    for r in range(3):
        idx = view.model().index(r, 0, root)
        if idx.data() in ("cam1", "cam3"):
            view.selectionModel().select(idx, QItemSelectionModel.Select | QItemSelectionModel.Rows)
    dlg.add_chosen(picker)
    assert dlg.folders() == [str(tmp_path / "cam1"), str(tmp_path / "cam3")]
