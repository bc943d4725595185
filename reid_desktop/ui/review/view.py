"""The review screen: query, ranked candidates from other cameras, the pair view with stripe
heatmap, and single-key decisions. Decisions are saved before the next pair is shown."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from reid_desktop.core.review.session import ReviewSession
from reid_desktop.store import Project
from reid_desktop.ui.crops.image_cache import ImageCache
from reid_desktop.ui.crops.thumbnails import ThumbnailCache
from reid_desktop.ui.review.candidate_model import CandidateItem, CandidateListModel
from reid_desktop.ui.review.pair_view import PairView

log = logging.getLogger(__name__)

KEYS = (
    ("same", "Same", "S"),
    ("different", "Different", "D"),
    ("skip", "Skip", "K"),
    ("undo", "Undo", "U"),
    ("redo", "Redo", "Shift+U"),
    ("previous", "Previous pair", "Left"),
    ("next", "Next pair", "Right"),
)


@dataclass(frozen=True)
class CropInfo:
    path: str
    camera: str
    rel_path: str


def crop_lookup(project: Project) -> dict[int, CropInfo]:
    cams = {c.id: c.name for c in project.cameras.all()}
    paths = project.crops.paths()
    return {c.id: CropInfo(str(paths[c.id]), cams[c.camera_id], c.rel_path) for c in project.crops.all()}


class ReviewView(QWidget):

    def __init__(self, thumbnails: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: ReviewSession | None = None
        self.crops: dict[int, CropInfo] = {}
        self.query: int | None = None
        self.images = ImageCache(parent=self)
        self._queue_timer = QTimer(self)
        self._queue_timer.setSingleShot(True)
        self._queue_timer.setInterval(400)
        self._queue_timer.timeout.connect(self._update_stats)

        self.stats_label = QLabel()
        self.stats_label.setObjectName("reviewStats")
        self.model_label = QLabel()
        self.model_label.setStyleSheet("color: #555;")
        head = QHBoxLayout()
        head.addWidget(self.stats_label, 1)
        head.addWidget(self.model_label)

        self.candidates = CandidateListModel(thumbnails, self)
        self.strip = QListView()
        self.strip.setObjectName("candidateStrip")
        self.strip.setModel(self.candidates)
        self.strip.setViewMode(QListView.IconMode)
        self.strip.setFlow(QListView.LeftToRight)
        self.strip.setWrapping(False)
        self.strip.setMovement(QListView.Static)
        self.strip.setIconSize(QSize(56, 112))
        self.strip.setGridSize(QSize(84, 150))
        self.strip.setFixedHeight(172)
        self.strip.setHorizontalScrollBarPolicy(Qt.ScrollBarAsNeeded)
        self.strip.selectionModel().currentChanged.connect(lambda cur, _p: self._show_candidate(cur.row()))
        self.query_label = QLabel()
        self.query_label.setWordWrap(True)
        self.query_label.setFixedWidth(150)

        self.pair = PairView()
        self.hint = QLabel()
        self.hint.setStyleSheet("color: #a05000;")
        buttons = QHBoxLayout()
        self.actions: dict[str, QAction] = {}
        for name, text, key in KEYS:
            act = QAction(f"{text}", self)
            act.setShortcut(QKeySequence(key))
            act.setShortcutContext(Qt.WidgetWithChildrenShortcut)
            act.triggered.connect(getattr(self, name))
            self.addAction(act)
            self.actions[name] = act
            b = QPushButton(f"{text}  [{QKeySequence(key).toString(QKeySequence.NativeText)}]")
            b.setFocusPolicy(Qt.NoFocus)
            b.clicked.connect(act.trigger)
            if name in ("same", "different"):
                b.setMinimumHeight(34)
            buttons.addWidget(b)
        buttons.addStretch()
        for i in range(9):
            act = QAction(f"Candidate {i + 1}", self)
            act.setShortcut(QKeySequence(str(i + 1)))
            act.setShortcutContext(Qt.WidgetWithChildrenShortcut)
            act.triggered.connect(lambda _=False, r=i: self.pick(r))
            self.addAction(act)
        buttons.addWidget(QLabel("1–9: pick candidate"))

        strip_row = QHBoxLayout()
        strip_row.addWidget(self.query_label)
        strip_row.addWidget(self.strip, 1)
        body = QWidget()
        bl = QVBoxLayout(body)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addLayout(strip_row)
        bl.addWidget(self.pair, 1)
        bl.addWidget(self.hint)
        bl.addLayout(buttons)

        self.empty = QLabel()
        self.empty.setObjectName("reviewEmpty")
        self.empty.setAlignment(Qt.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty_action = QPushButton()
        self.empty_action.setObjectName("reviewEmptyAction")
        self.empty_action.hide()
        self._empty_slot = None
        ew = QWidget()
        el = QVBoxLayout(ew)
        el.addStretch()
        el.addWidget(self.empty)
        el.addWidget(self.empty_action, 0, Qt.AlignHCenter)
        el.addStretch()
        self.stack = QStackedWidget()
        self.stack.addWidget(ew)
        self.stack.addWidget(body)
        lay = QVBoxLayout(self)
        lay.addLayout(head)
        lay.addWidget(self.stack, 1)
        self.show_empty("Open a project to review matches.")

    # ---- states -----------------------------------------------------------------------------------
    def show_empty(self, text: str, action: str = "", slot=None) -> None:
        self.stack.setCurrentIndex(0)
        self.empty.setText(text)
        if self._empty_slot is not None:
            self.empty_action.clicked.disconnect(self._empty_slot)
        self._empty_slot = slot
        self.empty_action.setVisible(bool(action))
        self.empty_action.setText(action)
        if slot is not None:
            self.empty_action.clicked.connect(slot)
        for a in self.actions.values():
            a.setEnabled(False)

    def set_session(self, session: ReviewSession, crops: dict[int, CropInfo], model_text: str) -> None:
        self.session = session
        self.crops = crops
        self.model_label.setText(model_text)
        for a in self.actions.values():
            a.setEnabled(True)
        self.stack.setCurrentIndex(1)
        self.show_current()
        self.setFocus()

    def clear_session(self) -> None:
        self.session = None
        self.candidates.set_items([])
        self.pair.clear()

    # ---- showing ----------------------------------------------------------------------------------
    def show_current(self) -> None:
        s = self.session
        pair = s.current() if s else None
        if pair is None:
            self.query = None
            self.candidates.set_items([])
            self.pair.clear()
            self.query_label.setText(
                "<b>Queue finished.</b><br>Every proposed pair is decided. "
                "Fine-tune and re-score for new proposals."
            )
            self._update_stats()
            return
        self.query = pair.query
        cands = s.candidates(pair.query)
        if pair.candidate not in {c.crop_id for c in cands}:
            from reid_desktop.core.retrieval.matching import Candidate

            cands = [Candidate(pair.candidate, pair.score), *cands]
        probs = s.probability([c.score for c in cands]) if s.calibrator.fitted else [None] * len(cands)
        decided = s.links.decided
        items = [
            CandidateItem(
                c.crop_id,
                self.crops[c.crop_id].path,
                self.crops[c.crop_id].camera,
                c.score,
                None if p is None else float(p),
                "decided" if (min(pair.query, c.crop_id), max(pair.query, c.crop_id)) in decided else None,
            )
            for c, p in zip(cands, probs, strict=True)
        ]
        self.candidates.set_items(items)
        q = self.crops[pair.query]
        self.query_label.setText(
            f"<b>Query</b><br>{q.camera}<br><span style='color:#666'>"
            f"{Path(q.rel_path).name}</span><br><br>{pair.kind} pair"
        )
        row = self.candidates.row_of(pair.candidate)
        self.strip.setCurrentIndex(self.candidates.index(row))
        self._show_candidate(row)
        QTimer.singleShot(0, lambda: self._update_stats(queue=False))  # after the pair is on screen
        self._queue_timer.start()  # the queue pass waits until the operator pauses
        nxt = s.queue[s.pos + 1 : s.pos + 3]
        self.images.prefetch([self.crops[x].path for p in nxt for x in (p.query, p.candidate)])

    def _show_candidate(self, row: int) -> None:
        if self.session is None or self.query is None or not 0 <= row < self.candidates.rowCount():
            return
        c = self.candidates.item(row)
        q = self.crops[self.query]
        matrix = self.session.stripe_matrix(self.query, c.crop_id)
        score = (
            f"P(same) {c.prob:.2f} · cosine {c.score:.2f}"
            if c.prob is not None
            else f"cosine {c.score:.2f} (uncalibrated)"
        )
        self.pair.set_pair(
            self.images.get(q.path),
            self.images.get(c.path),
            matrix,
            f"{q.camera}/{Path(q.rel_path).name}",
            f"{c.camera}/{Path(self.crops[c.crop_id].rel_path).name}",
            score,
        )
        self.hint.setText("")

    def selected_candidate(self) -> int | None:
        idx = self.strip.currentIndex()
        return self.candidates.item(idx.row()).crop_id if idx.isValid() else None

    def _update_stats(self, queue: bool = True) -> None:
        if self.session is None:
            return
        st = self.session.stats(queue=queue)
        text = (
            f"<b>{st.decided:,}</b> decided ({st.same:,} same · {st.different:,} different) · "
            f"<b>{st.identities:,}</b> identities ({st.linked_crops:,} crops) · "
            f"≈ {st.expected_links_left:,.0f} links left in {st.queue_left:,} queued pairs · "
            f"<span style='color:#666'>{st.calibration}</span>"
        )
        self.stats_label.setText(text)

    # ---- actions ----------------------------------------------------------------------------------
    def _decide(self, verdict: str) -> None:
        cand = self.selected_candidate()
        if self.session is None or self.query is None or cand is None:
            return
        try:
            self.session.decide(self.query, cand, verdict)
        except ValueError as exc:  # a "same" that contradicts "different" decisions
            self.hint.setText(f"Not saved: {exc}. Resolve it in Identities, or choose Different.")
            return
        self.show_current()
        self.hint.setText(f"Saved: {verdict} · Undo (U)")

    def same(self) -> None:
        self._decide("same")

    def different(self) -> None:
        self._decide("different")

    def skip(self) -> None:
        self._decide("skip")

    def _stale(self, exc: ValueError) -> None:
        """Decisions changed in another screen: reload them instead of failing."""
        self.session.refresh_links()
        self.show_current()
        self.hint.setText(f"Not changed: {exc}. Decisions were edited elsewhere; reloaded.")

    def undo(self) -> None:
        if self.session is None:
            return
        try:
            d = self.session.undo()
        except ValueError as exc:
            self._stale(exc)
            return
        if d is not None:
            self.show_current()
            self.hint.setText(
                f"Undone: {d.verdict} on crops {d.query_crop_id} and {d.candidate_crop_id} · Redo (Shift+U)"
            )

    def redo(self) -> None:
        if self.session is None:
            return
        try:
            d = self.session.redo()
        except ValueError as exc:
            self._stale(exc)
            return
        if d is not None:
            self.show_current()
            self.hint.setText(f"Redone: {d.verdict}")

    def next(self) -> None:
        if self.session:
            self.session.next()
            self.show_current()

    def previous(self) -> None:
        if self.session:
            self.session.previous()
            self.show_current()

    def pick(self, row: int) -> None:
        if row < self.candidates.rowCount():
            self.strip.setCurrentIndex(self.candidates.index(row))
