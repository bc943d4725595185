"""The review screen: one identity (the anchor) and a strip of candidate identities, ticked when
they are probably the same person; the anchor's and the current candidate's crops as strips; the
best-matching pair with its stripe heatmap. One key merges or separates whole identities.

Keys: S merge the current candidate, D different, K can't tell, 1–9 / Space tick candidates,
Enter merge the ticked ones (nothing is recorded for the unticked: they stay open), Shift+Enter
the same and every other candidate different, ↑/↓ current candidate, Tab / Shift+Tab next /
previous crop pair, → later, ← back to what was put off, U / Shift+U undo / redo. Every action is
saved before the next proposal is shown."""

from __future__ import annotations

import html
import logging

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from reid_desktop.core.identities.ledger import plain_note
from reid_desktop.core.names import plural
from reid_desktop.core.review.session import Proposal, ReviewSession
from reid_desktop.ui.crops.thumbnails import ThumbnailCache
from reid_desktop.ui.review.header import ReviewHeader, elastic
from reid_desktop.ui.review.proposal_panel import CropInfo, ProposalPanel, crop_lookup

__all__ = ["CropInfo", "ReviewView", "crop_lookup"]
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


class ReviewView(QWidget):
    def __init__(self, thumbnails: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: ReviewSession | None = None
        self.proposal: Proposal | None = None
        self._stats_timer = QTimer(self)  # the counts pass over every identity waits for a pause
        self._stats_timer.setSingleShot(True)
        self._stats_timer.setInterval(250)
        self._stats_timer.timeout.connect(self._update_stats)
        self.header = ReviewHeader()
        self.header.floorChanged.connect(self._floor_changed)
        self.header.floorDone.connect(self.take_keys)
        # A click anywhere on the screen (strip, crops, heatmap: none of them takes focus) gives
        # the review keys back, e.g. after typing a floor.
        self.setFocusPolicy(Qt.ClickFocus)
        self.panel = ProposalPanel(thumbnails)
        self.panel.ticksChanged.connect(self._update_title)
        # What tests, tools and benchmarks reach for, without knowing the layout.
        self.stats_label, self.detail_label = self.header.stats_label, self.header.detail_label
        self.floor, self.model_label = self.header.floor, self.header.model_label
        self.candidates, self.strip, self.pair = self.panel.candidates, self.panel.strip, self.panel.pair
        self.title = elastic(QLabel(), "proposalTitle")
        self.hint = elastic(QLabel(), "reviewHint")
        self.hint.setStyleSheet("color: #a05000;")
        self.finished = QLabel()
        self.finished.setObjectName("reviewFinished")
        self.finished.setAlignment(Qt.AlignCenter)
        self.finished.setWordWrap(True)
        self.pages = QStackedWidget()  # a proposal, or "nothing left" (the header stays usable)
        self.pages.addWidget(self.panel)
        self.pages.addWidget(self.finished)
        body = QWidget()
        bl = QVBoxLayout(body)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(self.title)
        bl.addWidget(self.pages, 1)
        bl.addWidget(self.hint)
        bl.addLayout(self._make_actions())
        self.stack = QStackedWidget()
        self.stack.addWidget(self._make_empty_page())
        self.stack.addWidget(body)
        lay = QVBoxLayout(self)
        lay.addWidget(self.header)
        lay.addWidget(self.stack, 1)
        self.show_empty("Open a project to review matches.")

    def _make_actions(self) -> QHBoxLayout:
        """Every key is an action (so F1 lists it); the deciding ones also get a button."""
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
                b = QPushButton(f"{text}  [{QKeySequence(key).toString(QKeySequence.NativeText)}]")
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
        return buttons

    def _make_empty_page(self) -> QWidget:
        self.empty = QLabel()
        self.empty.setObjectName("reviewEmpty")
        self.empty.setAlignment(Qt.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty_action = QPushButton()
        self.empty_action.setObjectName("reviewEmptyAction")
        self.empty_action.hide()
        self._empty_slot = None
        page = QWidget()
        el = QVBoxLayout(page)
        el.addStretch()
        el.addWidget(self.empty)
        el.addWidget(self.empty_action, 0, Qt.AlignHCenter)
        el.addStretch()
        return page

    def take_keys(self) -> None:
        self.setFocus(Qt.OtherFocusReason)

    def showEvent(self, event) -> None:
        """Shown again (its tab clicked, Ctrl+2): the review keys work at once, even if the
        floor box had focus when the operator left."""
        super().showEvent(event)
        self.take_keys()

    @property
    def crops(self) -> dict[int, CropInfo]:
        return self.panel.crops

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
    ) -> None:
        self.session = session
        self.panel.crops = crops
        self.model_label.setText(model_text)
        for a in self.actions.values():
            a.setEnabled(True)
        self.header.set_floor(session.floor)
        self.floor.setEnabled(True)
        self.stack.setCurrentIndex(1)
        self.show_current()
        self.take_keys()

    def clear_session(self, model_text: str = "") -> None:
        """Forget the session (a new model, new crops, another project); the header no longer
        names the old model."""
        self.session = None
        self.proposal = None
        self.header.clear(model_text)
        self.panel.clear()

    # ---- showing ----------------------------------------------------------------------------------
    def show_current(self) -> None:
        s = self.session
        if s is None:
            return
        self.proposal = p = s.current()
        if s.notes:
            self.hint.setText("Skipped: " + s.notes[-1] + ". Re-scan (F5) to update.")
            s.notes.clear()
        self.panel.present(s, p)
        self._stats_timer.start()
        if p is not None:
            self.pages.setCurrentIndex(0)
            self._update_title()
            return
        self.title.setText(f"<b>Nothing left to propose above the floor ({s.floor:.2f}).</b>")
        self.finished.setText(
            f"<h3>Nothing left to propose above the floor ({s.floor:.2f})</h3>"
            "Every pair of identities scoring at least the floor is decided. Lower the floor "
            "to see the remaining pairs, check the result in Identities, or fine-tune the "
            "encoder (Ctrl+T) and review again."
        )
        self.pages.setCurrentIndex(1)

    def _update_title(self) -> None:
        p = self.proposal
        if p is None:
            return
        n, ticked = len(p.candidates), len(self.candidates.ticked())
        if cam := self.panel.one_camera_group():
            head = f"These {ticked + 1} crops from {html.escape(cam)} are one person?"
        else:
            head = f"Same person as {html.escape(self.panel.identity_label(p.anchor))}?"
        self.title.setText(
            f"<b>{head}</b> {ticked} of {plural(n, 'candidate')} ticked · Enter merges the ticked · "
            "Shift+Enter also marks the rest different"
        )

    def _update_stats(self) -> None:
        if self.session is not None:
            self.header.show_stats(self.session.stats(), self.session.calibrator.fitted)

    def current_row(self) -> int:
        return self.panel.current_row()

    # ---- actions ----------------------------------------------------------------------------------
    def _commit(self, same: list[int], different: list[int] = (), unsure: list[int] = ()) -> None:
        s, p = self.session, self.proposal
        if s is None or p is None:
            return
        if not (same or different or unsure):
            self.hint.setText(
                "Nothing ticked: tick candidates (1–9, Space), D if the current one is someone else, "
                "or Shift+Enter if none is the same person."
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
        if (key := self.panel.current_key()) is not None:
            self._commit([key])

    def different(self) -> None:
        if (key := self.panel.current_key()) is not None:
            self._commit([], [key])

    def unsure(self) -> None:
        if (key := self.panel.current_key()) is not None:
            self._commit([], [], [key])

    def accept(self) -> None:
        # Unticking means "not sure this one is the same", not "different": a cannot-link is only
        # recorded when asked for (D, Shift+Enter).
        self._commit(self.candidates.ticked())

    def accept_rest(self) -> None:
        self._commit(self.candidates.ticked(), self.candidates.unticked())

    def toggle(self, row: int) -> None:
        self.panel.toggle(row)

    def toggle_current(self) -> None:
        self.panel.toggle(self.panel.current_row())

    def next_candidate(self) -> None:
        self.panel.move(1)

    def previous_candidate(self) -> None:
        self.panel.move(-1)

    def next_pair(self) -> None:
        self.panel.step_pair(1)

    def previous_pair(self) -> None:
        self.panel.step_pair(-1)

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
        self.hint.setText(f"Undone: {plain_note(action.note) or action.kind} · Redo (Shift+U)")

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
        self.hint.setText(f"Redone: {plain_note(action.note) or action.kind}")

    def _floor_changed(self, value: float) -> None:
        if self.session is not None:
            self.session.set_floor(value)
            self.show_current()
