"""The Identities tab as a new operator meets it: the rename box starts from the name shown, the
merge picker shows thumbnails, links and undo messages name files, not internal crop ids; every
edit is one action in the audit trail."""

from __future__ import annotations

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QInputDialog


def _two_identities(qtbot, w, tmp_path, two_cameras):
    w.create_project(tmp_path / "i.reidproj")
    w.add_folders([str(c) for c in two_cameras], "folders")
    qtbot.waitUntil(lambda: w.job is None, timeout=60_000)
    crops = w.project.crops.all()
    w.project.decisions.record(crops[0].id, crops[12].id, "same", operator="t")
    w.project.decisions.record(crops[1].id, crops[13].id, "same", operator="t")
    w.show_tab("Identities")
    w.identities.table.selectRow(0)
    return crops


def test_rename_starts_from_the_current_label(qtbot, window, tmp_path, two_cameras, monkeypatch):
    w = window
    _two_identities(qtbot, w, tmp_path, two_cameras)
    seen = {}

    def fake(parent, title, label, text="", **kw):
        seen["text"] = text
        return text, True  # OK without typing: keeps the generated label, stores nothing

    monkeypatch.setattr(QInputDialog, "getText", fake)
    row = w.identities.current()
    w.identities.acts["rename"].trigger()
    assert seen["text"] == row.label == f"ID-{row.key:04d}"
    assert w.identities.undo_stack.count() == 0 and w.project.identities.all() == []


def test_links_and_undo_messages_name_files_with_thumbnails(qtbot, window, tmp_path, two_cameras):
    w = window
    crops = _two_identities(qtbot, w, tmp_path, two_cameras)
    item = w.identities.links.item(0)
    assert "crop " not in item.text()
    pairs = [(crops[0], crops[12]), (crops[1], crops[13])]
    assert any(f"cam1/{a.rel_path}  ↔  cam2/{b.rel_path}" in item.text() for a, b in pairs)
    assert isinstance(item.icon(), QIcon) and not item.icon().isNull()
    w.identities.links.setCurrentRow(0)
    w.identities.acts["unlink"].trigger()
    w.identities.undo_stack.undo()
    msg = w.identities.message.text()
    assert msg.startswith("Undone: Delete link cam1/p000_v") and "cam2/p000_v" in msg and "crop " not in msg


def test_merge_picker_shows_thumbnails_and_merges_as_one_action(qtbot, window, tmp_path, two_cameras):
    w = window
    crops = _two_identities(qtbot, w, tmp_path, two_cameras)
    dlg = w.identities.merge_dialog()
    qtbot.addWidget(dlg)
    assert dlg.model.rowCount() == 1
    assert not dlg.model.item(0).icon().isNull()
    assert "2 crops" in dlg.model.item(0).text()
    before = len(w.project.decisions.actions())
    dlg.accept()
    assert len(w.project.decisions.actions()) == before + 1
    assert (
        w.identities.message.text().startswith("Done: Merge ID-")
        and "Undo (Ctrl+Z)" in w.identities.message.text()
    )
    assert len(w.identities.model.rows()) == 1
    assert {crops[0].id, crops[1].id} <= set(w.identities.model.rows()[0].crops)
    w.identities.undo_stack.undo()
    assert len(w.identities.model.rows()) == 2
