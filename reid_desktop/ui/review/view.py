"""The review screen: one identity (the anchor) and a strip of candidate identities, ticked when
they are probably the same person; the anchor's and the current candidate's crops as strips; the
best-matching pair with its stripe heatmap. One key merges or separates whole identities.

Keys: S merge the current candidate, D different, K can't tell, 1–9 / Space tick candidates,
Enter merge the ticked ones (unticked by hand = different), Shift+Enter the same and every other
candidate different, ↑/↓ current candidate, Tab / Shift+Tab next / previous crop pair, → later,
← back to what was put off, U / Shift+U undo / redo. Every action is saved before the next
proposal is shown."""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from reid_desktop.core.review.session import Proposal, ReviewSession
from reid_desktop.store import Project
from reid_desktop.ui.crops.image_cache import ImageCache
from reid_desktop.ui.crops.thumbnails import ThumbnailCache
from reid_desktop.ui.review.pair_view import PairView
from reid_desktop.ui.review.strip_models import (
    CandidateDelegate,
    CandidateStripModel,
    CropStripModel,
    StripCandidate,
    StripCrop,
)

log = logging.getLogger(__name__)

KEYS = (
    ("merge", "Merge", "S"),
    ("different", "Different", "D"),
    ("unsure", "Can't tell", "K"),
    ("accept", "Merge ticked", "Return"),
    ("accept_rest", "Merge ticked, rest different", "Shift+Return"),
    ("undo", "Undo", "U"),
    ("redo", "Redo", "Shift+U"),
)
NAVIGATION = (
    ("toggle_current", "Tick / untick", "Space"),
    ("later", "Later", "Right"),
    ("back", "Back", "Left"),
    ("next_candidate", "Next candidate", "Down"),
    ("previous_candidate", "Previous candidate", "Up"),
    ("next_pair", "Next crop pair", "Tab"),
    ("previous_pair", "Previous crop pair", "Shift+Tab"),
)


@dataclass(frozen=True)
class CropInfo:
    path: str
    camera: str
    rel_path: str

    @property
    def caption(self) -> str:
        return f"{self.camera}/{Path(self.rel_path).name}"


def crop_lookup(project: Project) -> dict[int, CropInfo]:
    cams = {c.id: c.name for c in project.cameras.all()}
    paths = project.crops.paths()
    return {c.id: CropInfo(str(paths[c.id]), cams[c.camera_id], c.rel_path) for c in project.crops.all()}


def _strip(icon: QSize, grid: QSize, name: str) -> QListView:
    v = QListView()
    v.setObjectName(name)
    v.setViewMode(QListView.IconMode)
    v.setFlow(QListView.LeftToRight)
    v.setWrapping(False)
    v.setMovement(QListView.Static)
    v.setUniformItemSizes(True)
    v.setIconSize(icon)
    v.setGridSize(grid)
    v.setFixedHeight(grid.height() + 22)  # room for the horizontal scroll bar
    v.setHorizontalScrollBarPolicy(Qt.ScrollBarAsNeeded)
    v.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
    v.setFocusPolicy(Qt.NoFocus)  # keys belong to the screen, not the strip
    return v


class ReviewView(QWidget):
    def __init__(self, thumbnails: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: ReviewSession | None = None
        self.crops: dict[int, CropInfo] = {}
        self.names: dict[int, str] = {}  # identity key -> stored name
        self.proposal: Proposal | None = None
        self.pairs: list[tuple[int, int, float]] = []
        self.pair_index = 0
        self.images = ImageCache(parent=self)
        self._stats_timer = QTimer(self)  # the counts pass over every identity waits for a pause
        self._stats_timer.setSingleShot(True)
        self._stats_timer.setInterval(250)
        self._stats_timer.timeout.connect(self._update_stats)

        self.stats_label = QLabel()
        self.stats_label.setObjectName("reviewStats")
        # Long counts must never widen the window: the label takes what it is given.
        self.stats_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.stats_label.setMinimumWidth(1)
        self.floor = QDoubleSpinBox()
        self.floor.setObjectName("reviewFloor")
        self.floor.setRange(0.0, 1.0)
        self.floor.setSingleStep(0.05)
        self.floor.setDecimals(2)
        self.floor.setPrefix("floor ")
        self.floor.setToolTip(
            "Proposals whose group score is below the floor are not offered. Raise it to stop "
            "earlier; lower it to see every remaining pair."
        )
        self.floor.setFocusPolicy(Qt.ClickFocus)
        self.floor.valueChanged.connect(self._floor_changed)
        self.model_label = QLabel()
        self.model_label.setObjectName("reviewModel")
        self.model_label.setStyleSheet("color: #555;")
        self.detail_label = QLabel()  # decided counts and calibration, a quieter second line
        self.detail_label.setObjectName("reviewDetail")
        self.detail_label.setStyleSheet("color: #666;")
        self.detail_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.detail_label.setMinimumWidth(1)
        counts = QVBoxLayout()
        counts.setSpacing(0)
        counts.addWidget(self.stats_label)
        counts.addWidget(self.detail_label)
        head = QHBoxLayout()
        head.addLayout(counts, 1)
        head.addWidget(self.floor)
        head.addWidget(self.model_label)

        self.title = QLabel()
        self.title.setObjectName("proposalTitle")
        self.title.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.title.setMinimumWidth(1)
        self.candidates = CandidateStripModel(thumbnails, self)
        self.strip = _strip(QSize(44, 88), QSize(92, 116), "candidateStrip")
        self.strip.setItemDelegate(CandidateDelegate(self.strip))
        self.strip.setModel(self.candidates)
        self.strip.selectionModel().currentChanged.connect(lambda cur, _p: self._show_candidate(cur.row()))
        self.candidates.toggled.connect(lambda *_: self._update_title())

        self.anchor_label = QLabel()
        self.anchor_label.setObjectName("anchorLabel")
        self.anchor_model = CropStripModel(thumbnails, self)
        self.anchor_strip = _strip(QSize(40, 80), QSize(52, 104), "anchorStrip")
        self.anchor_strip.setModel(self.anchor_model)
        self.other_label = QLabel()
        self.other_label.setObjectName("candidateLabel")
        self.other_model = CropStripModel(thumbnails, self)
        self.other_strip = _strip(QSize(40, 80), QSize(52, 104), "otherStrip")
        self.other_strip.setModel(self.other_model)
        for lab in (self.anchor_label, self.other_label):
            lab.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
            lab.setMinimumWidth(1)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        for w in (self.anchor_label, self.anchor_strip, self.other_label, self.other_strip):
            ll.addWidget(w)
        ll.addStretch()
        self.pair = PairView()
        self.pair_label = QLabel()
        self.pair_label.setObjectName("pairIndex")
        self.pair_label.setStyleSheet("color: #555;")
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.pair, 1)
        rl.addWidget(self.pair_label)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setChildrenCollapsible(False)
        split.setSizes([420, 600])  # proportions; the pair view keeps its minimum

        self.hint = QLabel()
        self.hint.setObjectName("reviewHint")
        self.hint.setStyleSheet("color: #a05000;")
        self.hint.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.hint.setMinimumWidth(1)
        buttons = QHBoxLayout()
        self.actions: dict[str, QAction] = {}
        for name, text, key in KEYS + NAVIGATION:
            act = QAction(text, self)
            seq = [QKeySequence(key)]
            if key.endswith("Return"):  # the keypad's Enter too
                seq.append(QKeySequence(key.replace("Return", "Enter")))
            act.setShortcuts(seq)
            act.setShortcutContext(Qt.WidgetWithChildrenShortcut)
            act.triggered.connect(getattr(self, name))
            self.addAction(act)
            self.actions[name] = act
            if (name, text, key) in KEYS:
                label = QKeySequence(key).toString(QKeySequence.NativeText)
                b = QPushButton(f"{text}  [{label}]")
                b.setObjectName(f"review_{name}")
                b.setFocusPolicy(Qt.NoFocus)
                b.clicked.connect(act.trigger)
                buttons.addWidget(b)
        for i in range(9):
            act = QAction(f"Tick candidate {i + 1}", self)
            act.setShortcut(QKeySequence(str(i + 1)))
            act.setShortcutContext(Qt.WidgetWithChildrenShortcut)
            act.triggered.connect(lambda _=False, r=i: self.toggle(r))
            self.addAction(act)
        buttons.addStretch()
        keys_help = QLabel("1–9 / Space tick · ↑↓ candidate · Tab pair · → later · ← back")
        keys_help.setStyleSheet("color: #666;")
        buttons.addWidget(keys_help)

        proposal = QWidget()
        pl = QVBoxLayout(proposal)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.addWidget(self.strip)
        pl.addWidget(split, 1)
        self.finished = QLabel()
        self.finished.setObjectName("reviewFinished")
        self.finished.setAlignment(Qt.AlignCenter)
        self.finished.setWordWrap(True)
        self.pages = QStackedWidget()  # a proposal, or "nothing left" (the header stays usable)
        self.pages.addWidget(proposal)
        self.pages.addWidget(self.finished)
        body = QWidget()
        bl = QVBoxLayout(body)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(self.title)
        bl.addWidget(self.pages, 1)
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
        self.floor.setEnabled(False)

    def set_session(
        self,
        session: ReviewSession,
        crops: dict[int, CropInfo],
        model_text: str,
        names: dict[int, str] | None = None,
    ) -> None:
        self.session = session
        self.crops = crops
        self.names = names or {}
        self.model_label.setText(model_text)
        for a in self.actions.values():
            a.setEnabled(True)
        self.floor.blockSignals(True)
        self.floor.setValue(session.floor)
        self.floor.blockSignals(False)
        self.floor.setEnabled(True)
        self.stack.setCurrentIndex(1)
        self.show_current()
        self.setFocus()

    def clear_session(self, model_text: str = "") -> None:
        """Forget the session (a new model, new crops, another project); the header no longer
        names the old model."""
        self.session = None
        self.proposal = None
        self.model_label.setText(model_text)
        self.stats_label.setText("")
        self.detail_label.setText("")
        self.candidates.set_items([], [])
        self.anchor_model.set_items([])
        self.other_model.set_items([])
        self.pair.clear()

    # ---- labels -----------------------------------------------------------------------------------
    def identity_label(self, key: int) -> str:
        return self.names.get(key) or f"ID-{key:04d}"

    def crop_label(self, crop_id: int) -> str:
        info = self.crops.get(crop_id)
        return info.caption if info else f"crop {crop_id}"

    def _cameras(self, crops: tuple[int, ...]) -> str:
        counts: dict[str, int] = {}
        for c in crops:
            cam = self.crops[c].camera if c in self.crops else "?"
            counts[cam] = counts.get(cam, 0) + 1
        return " · ".join(f"{cam} ×{n}" for cam, n in sorted(counts.items()))

    # ---- showing ----------------------------------------------------------------------------------
    def show_current(self) -> None:
        s = self.session
        if s is None:
            return
        p = s.current()
        self.proposal = p
        if s.notes:
            self.hint.setText("Skipped: " + s.notes[-1] + ". Re-scan (F5) to update.")
            s.notes.clear()
        if p is None:
            self.candidates.set_items([], [])
            self.anchor_model.set_items([])
            self.other_model.set_items([])
            self.pair.clear()
            self.pair_label.setText("")
            self.anchor_label.setText("")
            self.other_label.setText("")
            self.title.setText(f"<b>Nothing left to propose above the floor ({s.floor:.2f}).</b>")
            self.finished.setText(
                f"<h3>Nothing left to propose above the floor ({s.floor:.2f})</h3>"
                "Every pair of identities scoring at least the floor is decided. Lower the floor "
                "to see the remaining pairs, check the result in Identities, or fine-tune the "
                "encoder (Ctrl+T) and review again."
            )
            self.pages.setCurrentIndex(1)
            self._stats_timer.start()
            return
        self.pages.setCurrentIndex(0)
        items = []
        for c in p.candidates:
            items.append(
                StripCandidate(
                    c.key,
                    self.crops[c.pair[1]].path,
                    self.identity_label(c.key),
                    self._cameras(c.crops),
                    len(c.crops),
                    c.score,
                    c.prob,
                )
            )
        self.candidates.set_items(items, [c.preselected for c in p.candidates])
        self.anchor_label.setText(
            f"<b>{html.escape(self.identity_label(p.anchor))}</b> · {len(p.anchor_crops)} crop(s) · "
            f"{self._cameras(p.anchor_crops)}"
        )
        self._update_title()
        self.strip.setCurrentIndex(self.candidates.index(0))
        self._show_candidate(0)
        self._stats_timer.start()
        nxt = [self.crops[c.pair[1]].path for c in p.candidates[1:4] if c.pair[1] in self.crops]
        self.images.prefetch(nxt)

    def _update_title(self) -> None:
        p = self.proposal
        if p is None:
            return
        n, ticked = len(p.candidates), len(self.candidates.ticked())
        single_camera = len({self.crops[c].camera for c in p.anchor_crops if c in self.crops}) == 1
        group = (
            len(p.anchor_crops) == 1
            and single_camera
            and all(
                len(c.crops) == 1 and self.crops[c.crops[0]].camera == self.crops[p.anchor_crops[0]].camera
                for c in p.candidates
                if c.key in self.candidates.ticked()
            )
        )
        if group and ticked:
            cam = self.crops[p.anchor_crops[0]].camera
            head = f"These {ticked + 1} crops from {html.escape(cam)} are one person?"
        else:
            head = f"Same person as {html.escape(self.identity_label(p.anchor))}?"
        self.title.setText(
            f"<b>{head}</b> {ticked} of {n} candidate(s) ticked · Enter merges the ticked · "
            "Shift+Enter also marks the rest different"
        )

    def current_row(self) -> int:
        idx = self.strip.currentIndex()
        return idx.row() if idx.isValid() else -1

    def current_key(self) -> int | None:
        row = self.current_row()
        return self.candidates.item(row).key if row >= 0 else None

    def _show_candidate(self, row: int) -> None:
        p, s = self.proposal, self.session
        if s is None or p is None or not 0 <= row < self.candidates.rowCount():
            return
        c = p.candidates[row]
        self.other_label.setText(
            f"Candidate {row + 1}: <b>{html.escape(self.identity_label(c.key))}</b> · "
            f"{len(c.crops)} crop(s) · {self._cameras(c.crops)}"
        )
        self.pairs = s.member_pairs(p.anchor, c.key)
        self.pair_index = 0
        self._show_pair()

    def _show_pair(self) -> None:
        p, s = self.proposal, self.session
        row = self.current_row()
        if s is None or p is None or row < 0 or not self.pairs:
            return
        c = p.candidates[row]
        a, b, sim = self.pairs[self.pair_index]
        self.anchor_model.set_items(
            [StripCrop(x, self.crops[x].path, self.crops[x].caption, x == a) for x in p.anchor_crops]
        )
        self.other_model.set_items(
            [StripCrop(x, self.crops[x].path, self.crops[x].caption, x == b) for x in c.crops]
        )
        for strip, model, crop in (
            (self.anchor_strip, self.anchor_model, a),
            (self.other_strip, self.other_model, b),
        ):
            strip.scrollTo(model.index(model.row_of(crop)))
        prob = f"P(same) {c.prob:.2f} · " if c.prob is not None else ""
        score = f"{prob}group {c.score:.2f} · pair {sim:.2f}"
        qa, qb = self.crops[a], self.crops[b]
        self.pair.set_pair(
            self.images.get(qa.path),
            self.images.get(qb.path),
            s.stripe_matrix(a, b),
            qa.caption,
            qb.caption,
            score,
        )
        self.pair_label.setText(
            f"Crop pair {self.pair_index + 1} of {len(self.pairs)} (Tab / Shift+Tab for the others)"
        )

    def _update_stats(self) -> None:
        if self.session is None:
            return
        st = self.session.stats()
        left = (
            f"≈ <b>{st.expected_merges:,.0f}</b> merges left in {st.open_pairs:,} open pairs"
            if self.session.calibrator.fitted
            else f"{st.open_pairs:,} open pairs (merges left: once calibrated)"
        )
        self.stats_label.setText(
            f"<b>{st.alone:,}</b> crops alone · <b>{st.identities:,}</b> identities · {left} · "
            f"floor {st.floor:.2f}"
        )
        self.detail_label.setText(
            f"decided: {st.merged:,} same · {st.different:,} different · {st.unsure:,} can't tell · "
            f"P(same): {st.calibration}"
        )
        for label in (self.stats_label, self.detail_label):
            label.setToolTip(html.unescape(label.text().replace("<b>", "").replace("</b>", "")))

    # ---- actions ----------------------------------------------------------------------------------
    def _commit(self, same: list[int], different: list[int] = (), unsure: list[int] = ()) -> None:
        s, p = self.session, self.proposal
        if s is None or p is None:
            return
        if not (same or different or unsure):
            self.hint.setText(
                "Nothing ticked: tick candidates (1–9, Space), or Shift+Enter if none is the same person."
            )
            return
        try:
            action = s.commit(same=same, different=different, unsure=list(unsure))
        except ValueError as exc:  # a merge across a "different" decision
            self.hint.setText(f"Not saved: {exc}. Untick one of them, or resolve it in Identities.")
            return
        self.show_current()
        self.hint.setText(f"Saved: {action.note} · Undo (U)")

    def merge(self) -> None:
        if (key := self.current_key()) is not None:
            self._commit([key])

    def different(self) -> None:
        if (key := self.current_key()) is not None:
            self._commit([], [key])

    def unsure(self) -> None:
        if (key := self.current_key()) is not None:
            self._commit([], [], [key])

    def accept(self) -> None:
        self._commit(self.candidates.ticked(), self.candidates.unticked_by_hand())

    def accept_rest(self) -> None:
        self._commit(self.candidates.ticked(), self.candidates.unticked())

    def toggle(self, row: int) -> None:
        if 0 <= row < self.candidates.rowCount():
            self.candidates.toggle(row)
            self.strip.setCurrentIndex(self.candidates.index(row))

    def toggle_current(self) -> None:
        self.toggle(self.current_row())

    def _move(self, step: int) -> None:
        row = self.current_row() + step
        if 0 <= row < self.candidates.rowCount():
            self.strip.setCurrentIndex(self.candidates.index(row))

    def next_candidate(self) -> None:
        self._move(1)

    def previous_candidate(self) -> None:
        self._move(-1)

    def _step_pair(self, step: int) -> None:
        if self.pairs:
            self.pair_index = (self.pair_index + step) % len(self.pairs)
            self._show_pair()

    def next_pair(self) -> None:
        self._step_pair(1)

    def previous_pair(self) -> None:
        self._step_pair(-1)

    def later(self) -> None:
        if self.session is not None and self.proposal is not None:
            self.session.defer()
            self.show_current()
            self.hint.setText("Put off: it comes back when the rest is done · ← brings it back now")

    def back(self) -> None:
        if self.session is None:
            return
        if self.session.back() is None:
            self.hint.setText("Nothing put off to go back to; decided proposals are undone with U.")
            return
        self.show_current()
        self.hint.setText("Back to the proposal put off last.")

    def _stale(self, exc: ValueError) -> None:
        """Decisions changed in another screen: reload them instead of failing."""
        self.session.refresh_links()
        self.show_current()
        self.hint.setText(f"Not changed: {exc}. Decisions were edited elsewhere; reloaded.")

    def undo(self) -> None:
        if self.session is None:
            return
        try:
            action = self.session.undo()
        except ValueError as exc:
            self._stale(exc)
            return
        if action is None:
            self.hint.setText("Nothing of this session to undo.")
            return
        self.show_current()
        self.hint.setText(f"Undone: {action.note or action.kind} · Redo (Shift+U)")

    def redo(self) -> None:
        if self.session is None:
            return
        try:
            action = self.session.redo()
        except ValueError as exc:
            self._stale(exc)
            return
        if action is None:
            self.hint.setText("Nothing to redo.")
            return
        self.show_current()
        self.hint.setText(f"Redone: {action.note or action.kind}")

    def _floor_changed(self, value: float) -> None:
        if self.session is not None:
            self.session.set_floor(value)
            self.show_current()
