"""The identity review screen driven through the window (pytest-qt, offscreen): merging two groups
by keyboard and undoing it, the header, the floor, navigation, and the screen fixes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers.synth import make_camera_folder
from PySide6.QtCore import Qt

from reid_desktop.ui.shell.main_window import MainWindow


def wait_idle(qtbot, w: MainWindow, timeout: int = 60_000) -> None:
    qtbot.waitUntil(lambda: w.job is None, timeout=timeout)


def _person(c) -> int:
    return int(Path(c.rel_path).name[1:4])  # p003_v1_s2.jpg -> 3


def _project(qtbot, w: MainWindow, tmp_path: Path, people: int = 4, per: int = 2) -> dict[int, int]:
    """Crops on disk, one registered encoder, and embeddings that cluster by person (so the
    proposals are predictable); returns crop id -> person."""
    cams = [
        make_camera_folder(tmp_path / "cams" / f"cam{i}", people=people, per_person=per, seed=i)
        for i in (1, 2)
    ]
    assert w.create_project(tmp_path / "review.reidproj")
    w.add_folders([str(c) for c in cams], "folders")
    wait_idle(qtbot, w)
    p = w.project
    enc = p.encoders.add("synthetic", str(tmp_path / "none.onnx"), "sha", {})
    p.set_active_encoder(enc.id)
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(people, 16)) * 3
    crops = p.crops.all()
    p.embeddings.put_many(
        enc.id,
        [(c.id, centres[_person(c)] + rng.normal(size=16) * 0.3, rng.normal(size=(4, 8))) for c in crops],
    )
    return {c.id: _person(c) for c in crops}


def _open_review(qtbot, w: MainWindow) -> None:
    w.show_tab("Review")
    wait_idle(qtbot, w)
    qtbot.waitUntil(lambda: w.review.session is not None and w.review.proposal is not None, timeout=60_000)


def _key(qtbot, w, k, mod=Qt.NoModifier) -> None:
    qtbot.keyClick(w.review, k, mod)


def test_merging_two_groups_by_keyboard_and_undoing_it(qtbot, window, tmp_path):
    w = window
    person = _project(qtbot, w, tmp_path)
    by = {}
    for c, p in sorted(person.items()):
        by.setdefault(p, []).append(c)
    a, b = by[0][:2], by[0][2:]  # person 0: a group in cam1 and one in cam2
    w.project.decisions.record(a[0], a[1], "same", operator="t")
    w.project.decisions.record(b[0], b[1], "same", operator="t")
    _open_review(qtbot, w)
    v, s = w.review, w.review.session
    ka, kb = s.engine.key(a[0]), s.engine.key(b[0])
    for _ in range(30):  # → puts proposals off until one shows the two groups together
        p = v.proposal
        if p.anchor in (ka, kb) and {ka, kb} - {p.anchor} <= {c.key for c in p.candidates}:
            break
        _key(qtbot, w, Qt.Key_Right)
    else:
        pytest.fail("the two groups were never proposed together")
    other = kb if p.anchor == ka else ka
    row = [c.key for c in p.candidates].index(other)
    for r in range(v.candidates.rowCount()):  # tick exactly the other group
        if v.candidates.is_ticked(r) != (r == row):
            if r < 9:
                _key(qtbot, w, Qt.Key(int(Qt.Key_1) + r))
            else:
                v.strip.setCurrentIndex(v.candidates.index(r))
                _key(qtbot, w, Qt.Key_Space)
    assert v.candidates.ticked() == [other]
    before = len(w.project.decisions.actions())
    _key(qtbot, w, Qt.Key_Return)
    assert len(w.project.decisions.actions()) == before + 1  # one action
    assert set(s.engine.crops(s.engine.key(a[0]))) == set(a) | set(b)
    assert "Saved:" in v.hint.text() and "1 merged" in v.hint.text()
    _key(qtbot, w, Qt.Key_U)
    assert s.engine.key(a[0]) != s.engine.key(b[0])
    assert "Undone:" in v.hint.text()
    assert len(w.project.decisions.actions()) == before + 2  # the undo is an action too
    _key(qtbot, w, Qt.Key_U, Qt.ShiftModifier)
    assert s.engine.key(a[0]) == s.engine.key(b[0])
    # The Identities tab shows the result.
    w.show_tab("Identities")
    assert any(set(a) | set(b) <= set(r.crops) for r in w.identities.model.rows())


def test_s_d_k_record_one_verdict_each_and_the_header_counts_them_apart(qtbot, window, tmp_path):
    w = window
    _project(qtbot, w, tmp_path)
    _open_review(qtbot, w)
    v = w.review
    _key(qtbot, w, Qt.Key_S)
    _key(qtbot, w, Qt.Key_D)
    _key(qtbot, w, Qt.Key_K)
    verdicts = [d.verdict for d in w.project.decisions.active()]
    assert sorted(verdicts) == ["different", "same", "skip"]
    assert all(d.encoder_id == w.project.active_encoder_id for d in w.project.decisions.active())
    v._update_stats()
    text = v.detail_label.text()
    assert "1 same" in text and "1 different" in text and "1 can't tell" in text


def test_floor_left_and_right(qtbot, window, tmp_path):
    w = window
    _project(qtbot, w, tmp_path)
    _open_review(qtbot, w)
    v = w.review
    first = v.proposal
    _key(qtbot, w, Qt.Key_Left)
    assert "Nothing put off" in v.hint.text()  # ← says why it did not move
    _key(qtbot, w, Qt.Key_Right)
    assert v.proposal.anchor != first.anchor
    _key(qtbot, w, Qt.Key_Left)
    assert v.proposal == first
    v.floor.setValue(1.0)
    assert v.proposal is None and "Nothing left to propose above the floor (1.00)" in v.title.text()
    v.floor.setValue(0.0)
    assert v.proposal == first


def test_the_header_never_widens_the_window(qtbot, window, tmp_path):
    w = window
    _project(qtbot, w, tmp_path)
    _open_review(qtbot, w)
    w.resize(1180, 760)
    qtbot.wait(50)
    width = w.width()
    w.review.stats_label.setText("<b>123,456</b> crops alone · " * 20)
    w.review.detail_label.setText("decided: 1 same · " * 30)
    w.review.hint.setText("a long hint " * 40)
    w.review.title.setText("a long title " * 40)
    qtbot.wait(50)
    assert w.width() == width and w.minimumSizeHint().width() <= width


def test_reopening_from_recent_fills_the_review_tab(qtbot, window, tmp_path):
    w = window
    _project(qtbot, w, tmp_path)
    _open_review(qtbot, w)
    path = w.project.path
    w.close_project()
    assert w.open_project(path)  # as Open Recent does, with Review still the current tab
    wait_idle(qtbot, w)
    qtbot.waitUntil(lambda: w.review.session is not None, timeout=15_000)
    assert w.review.stack.currentIndex() == 1 and w.review.proposal is not None


def test_the_header_does_not_name_the_old_model_while_the_new_one_embeds(qtbot, window, tmp_path):
    from helpers.onnx_factory import tiny_encoder

    from reid_desktop.core.encoders.registry import register_encoder

    w = window
    _project(qtbot, w, tmp_path)
    _open_review(qtbot, w)
    assert "synthetic" in w.review.model_label.text()
    enc = register_encoder(w.project, tiny_encoder(tmp_path / "tiny.onnx"), "tiny", activate=False)
    w.encoder_actions.activate(enc.id)
    assert "synthetic" not in w.review.model_label.text()
    assert "tiny" in w.review.model_label.text()
    wait_idle(qtbot, w)


def test_a_moved_crop_is_skipped_with_a_note(qtbot, window, tmp_path):
    w = window
    _project(qtbot, w, tmp_path)
    _open_review(qtbot, w)
    p = w.review.proposal
    gone = Path(w.review.crops[p.anchor_crops[0]].path)
    gone.rename(gone.with_suffix(".moved"))
    w.review.session.defer()  # the next time it comes up, its file is gone
    w.review.session.deferred.clear()
    w.review.session._current = None
    w.review.show_current()
    assert "cannot be read" in w.review.hint.text() and "Re-scan" in w.review.hint.text()
    assert w.review.proposal is None or p.anchor_crops[0] not in w.review.proposal.anchor_crops


def test_candidate_thumbnails_replace_their_placeholders_without_a_manual_repaint(qtbot, tmp_path):
    """The strip paints each cell itself (thumbnail, tick box, "n · P" in full): once a thumbnail
    is decoded its cell shows it, with no other repaint."""
    from PySide6.QtCore import QSize
    from PySide6.QtGui import QColor

    from reid_desktop.ui.crops.thumbnails import ThumbnailCache
    from reid_desktop.ui.review.proposal_panel import _strip
    from reid_desktop.ui.review.strip_models import CandidateDelegate, CandidateStripModel, StripCandidate

    folder = make_camera_folder(tmp_path / "cam", people=3, per_person=1, seed=1)
    paths = sorted(str(p) for p in folder.glob("*.jpg"))
    thumbs = ThumbnailCache(QSize(44, 88))
    model = CandidateStripModel(thumbs)
    view = _strip(QSize(44, 88), QSize(92, 116), "strip")
    view.setModel(model)
    view.setItemDelegate(CandidateDelegate(view))
    qtbot.addWidget(view)
    view.resize(400, 140)
    view.show()
    items = [StripCandidate(i, p, f"ID-{i}", "cam ×1", 1, 0.5, None) for i, p in enumerate(paths)]
    model.set_items(items, [True, False, False])
    view.viewport().grab()  # the first paint asks for the thumbnails (placeholders meanwhile)
    qtbot.waitUntil(
        lambda: thumbs.pending() == 0 and all(thumbs.get(p) is not None for p in paths), timeout=10_000
    )
    qtbot.wait(50)  # only the model's own signal may bring them on screen
    rect = view.visualRect(model.index(0))
    img = view.viewport().grab().toImage()
    centre = QColor(img.pixel(rect.center().x(), rect.top() + 4 + (rect.height() - 30) // 2))
    assert centre.name() != thumbs.placeholder.pixmap(44, 88).toImage().pixelColor(22, 44).name()
    assert model.data(model.index(0)) == "1 · 0.50"  # number key and score in full, no stray mark
    thumbs.wait()


def test_without_an_encoder_review_says_why(qtbot, window, tmp_path, monkeypatch):
    from reid_desktop.core.encoders import defaults

    missing = tmp_path / "gone" / "default-mnv2.onnx"
    monkeypatch.setattr(defaults, "default_encoder_path", lambda: missing)
    w = window
    cams = [make_camera_folder(tmp_path / f"cam{i}", people=2, per_person=1, seed=i) for i in (1, 2)]
    assert w.create_project(tmp_path / "bare.reidproj")
    w.add_folders([str(c) for c in cams], "folders")
    wait_idle(qtbot, w)
    w.show_tab("Review")
    qtbot.waitUntil(lambda: "No encoder to review with" in w.review.empty.text(), timeout=20_000)
    assert f"{missing} is missing" in w.review.empty.text()
    assert w.review.empty_action.text() == "Models…"


def _reviewing(qtbot, w: MainWindow, tmp_path: Path):
    _project(qtbot, w, tmp_path)
    _open_review(qtbot, w)
    return w.review


def _focus(qtbot, w: MainWindow, k, mod=Qt.NoModifier) -> None:
    """A key as the operator types it: to whichever widget has keyboard focus."""
    from PySide6.QtWidgets import QApplication

    qtbot.keyClick(QApplication.focusWidget() or w, k, mod)


def _review_has_focus(w: MainWindow) -> bool:
    from PySide6.QtWidgets import QApplication

    f = QApplication.focusWidget()
    return f is w.review


def _typing_a_floor(qtbot, w: MainWindow, tmp_path: Path):
    """The review open, the operator's click in the floor box, its number selected."""
    v = _reviewing(qtbot, w, tmp_path)
    qtbot.mouseClick(v.floor.lineEdit(), Qt.LeftButton)
    assert v.floor.hasFocus()
    v.floor.selectAll()
    return v


def test_keys_typed_into_the_floor_box_never_decide_and_enter_hands_the_keys_back(qtbot, window, tmp_path):
    w = window
    v = _typing_a_floor(qtbot, w, tmp_path)
    first = v.proposal
    for k in (Qt.Key_S, Qt.Key_D, Qt.Key_K, Qt.Key_U, Qt.Key_1, Qt.Key_Space):
        _focus(qtbot, w, k)
    # Nothing decided, and a half-typed floor is not applied before Enter.
    assert w.project.decisions.active() == [] and v.proposal == first and v.session.floor == 0.0
    v.floor.selectAll()
    qtbot.keyClicks(v.floor.lineEdit(), "0.1")
    _focus(qtbot, w, Qt.Key_Return)
    assert w.project.decisions.active() == []  # Enter set the floor and nothing else
    assert v.session.floor == pytest.approx(0.1) and w.project.review_floor(v.session.encoder_id) == 0.1
    assert _review_has_focus(w)  # the next key is a review key again
    _focus(qtbot, w, Qt.Key_S)
    assert [d.verdict for d in w.project.decisions.active()] == ["same"]
    qtbot.mouseClick(v.floor.lineEdit(), Qt.LeftButton)
    _focus(qtbot, w, Qt.Key_Up)  # in the box, ↑ steps the floor: it never moves the candidate
    assert v.session.floor == pytest.approx(0.15) and v.floor.hasFocus()
    assert len(w.project.decisions.active()) == 1


def test_escape_in_the_floor_box_keeps_the_floor_and_hands_the_keys_back(qtbot, window, tmp_path):
    w = window
    v = _typing_a_floor(qtbot, w, tmp_path)
    qtbot.keyClicks(v.floor.lineEdit(), "0.9")
    _focus(qtbot, w, Qt.Key_Escape)
    assert _review_has_focus(w) and v.session.floor == 0.0 and v.floor.value() == 0.0
    _focus(qtbot, w, Qt.Key_D)
    assert [d.verdict for d in w.project.decisions.active()] == ["different"]


def test_the_review_takes_the_keys_when_its_tab_is_shown_and_when_clicked(qtbot, window, tmp_path):
    w = window
    v = _reviewing(qtbot, w, tmp_path)
    for come_back in (lambda: w.show_tab("Review"), lambda: _focus(qtbot, w, Qt.Key_2, Qt.ControlModifier)):
        qtbot.mouseClick(v.floor.lineEdit(), Qt.LeftButton)
        w.show_tab("Crops")
        come_back()
        assert w.tabs.currentWidget() is v and _review_has_focus(w)
    row = v.current_row()
    _focus(qtbot, w, Qt.Key_Down)
    assert v.current_row() == row + 1
    for target in (v.strip.viewport(), v.panel.anchor_strip.viewport(), v.pair.canvas, v.pair.heatmap):
        qtbot.mouseClick(v.floor.lineEdit(), Qt.LeftButton)
        assert not _review_has_focus(w)
        qtbot.mouseClick(target, Qt.LeftButton, pos=target.rect().center())
        assert _review_has_focus(w), target


def _tick_only(qtbot, w: MainWindow, rows: set[int]) -> None:
    v = w.review
    for r in range(min(9, v.candidates.rowCount())):
        if v.candidates.is_ticked(r) != (r in rows):
            _key(qtbot, w, Qt.Key(int(Qt.Key_1) + r))


def test_enter_records_merges_for_the_ticked_only_and_nothing_for_an_unticked_candidate(
    qtbot, window, tmp_path
):
    w = window
    v = _reviewing(qtbot, w, tmp_path)
    p = v.proposal
    assert v.candidates.is_ticked(0) and len(p.candidates) >= 2  # the best one comes pre-ticked
    _tick_only(qtbot, w, {1})  # untick the first, tick the second
    _key(qtbot, w, Qt.Key_Return)
    decided = w.project.decisions.active()
    assert [(d.verdict, d.candidate_crop_id) for d in decided] == [("same", p.candidates[1].pair[1])]
    assert "1 merged" in v.hint.text() and "different" not in v.hint.text()


def test_shift_enter_merges_the_ticked_and_marks_every_other_candidate_different(qtbot, window, tmp_path):
    w = window
    v = _reviewing(qtbot, w, tmp_path)
    p = v.proposal
    _tick_only(qtbot, w, {1})
    _key(qtbot, w, Qt.Key_Return, Qt.ShiftModifier)
    verdicts = {d.candidate_crop_id: d.verdict for d in w.project.decisions.active()}
    assert verdicts == {c.pair[1]: "same" if i == 1 else "different" for i, c in enumerate(p.candidates)}


def test_a_cancelled_embedding_says_so_in_the_status_bar(qtbot, window, tmp_path):
    from reid_desktop.core.encoders.embed import EmbedReport

    w = window
    cams = [make_camera_folder(tmp_path / f"cam{i}", people=2, per_person=1, seed=i) for i in (1, 2)]
    assert w.create_project(tmp_path / "c.reidproj")
    w.add_folders([str(c) for c in cams], "folders")
    wait_idle(qtbot, w)
    w.review_ctl._embedded(EmbedReport(1, encoded=2, cancelled=True, seconds=1.0, provider="CPU"))
    assert w.statusBar().currentMessage().startswith("Embedding cancelled: 2 crops embedded and kept")
