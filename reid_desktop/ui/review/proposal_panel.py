"""One proposal on screen: the strip of candidate identities (ticked when probably the same
person), the anchor's and the current candidate's crops as strips, and their best-matching crop
pair in the pair view with its stripe heatmap (Tab steps through the other pairs)."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QLabel, QListView, QSplitter, QVBoxLayout, QWidget

from reid_desktop.core.identities.curation import identity_label
from reid_desktop.core.names import plural
from reid_desktop.core.review.session import Proposal, ReviewSession
from reid_desktop.store import Project
from reid_desktop.ui.crops.image_cache import ImageCache
from reid_desktop.ui.crops.thumbnails import ThumbnailCache
from reid_desktop.ui.review.header import elastic
from reid_desktop.ui.review.pair_view import PairView
from reid_desktop.ui.review.strip_models import (
    CandidateDelegate,
    CandidateStripModel,
    CropStripModel,
    StripCandidate,
    StripCrop,
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


class ProposalPanel(QWidget):
    ticksChanged = Signal()

    def __init__(self, thumbnails: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: ReviewSession | None = None
        self.proposal: Proposal | None = None
        self.crops: dict[int, CropInfo] = {}
        self.pairs: list[tuple[int, int, float]] = []
        self.pair_index = 0
        self.images = ImageCache(parent=self)

        self.candidates = CandidateStripModel(thumbnails, self)
        self.strip = _strip(QSize(44, 88), QSize(92, 116), "candidateStrip")
        self.strip.setItemDelegate(CandidateDelegate(self.strip))
        self.strip.setModel(self.candidates)
        self.strip.selectionModel().currentChanged.connect(lambda cur, _p: self._show_candidate(cur.row()))
        self.candidates.toggled.connect(lambda *_: self.ticksChanged.emit())
        self.anchor_label = elastic(QLabel(), "anchorLabel")
        self.anchor_model = CropStripModel(thumbnails, self)
        self.anchor_strip = _strip(QSize(40, 80), QSize(52, 104), "anchorStrip")
        self.anchor_strip.setModel(self.anchor_model)
        self.other_label = elastic(QLabel(), "candidateLabel")
        self.other_model = CropStripModel(thumbnails, self)
        self.other_strip = _strip(QSize(40, 80), QSize(52, 104), "otherStrip")
        self.other_strip.setModel(self.other_model)
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
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.strip)
        lay.addWidget(split, 1)

    # ---- labels -----------------------------------------------------------------------------------
    def identity_label(self, key: int) -> str:
        """As the Identities tab names it (the session follows merges and splits)."""
        return self.session.identity_name(key) if self.session is not None else identity_label(key)

    def cameras(self, crops: tuple[int, ...]) -> str:
        counts: dict[str, int] = {}
        for c in crops:
            cam = self.crops[c].camera if c in self.crops else "?"
            counts[cam] = counts.get(cam, 0) + 1
        return " · ".join(f"{cam} ×{n}" for cam, n in sorted(counts.items()))

    def one_camera_group(self) -> str | None:
        """The camera, when the anchor is one crop and every ticked candidate a crop of its
        camera: "these N crops from cam1 are one person?"."""
        p = self.proposal
        if p is None or len(p.anchor_crops) != 1 or p.anchor_crops[0] not in self.crops:
            return None
        cam = self.crops[p.anchor_crops[0]].camera
        ticked = set(self.candidates.ticked())
        ok = all(
            len(c.crops) == 1 and c.crops[0] in self.crops and self.crops[c.crops[0]].camera == cam
            for c in p.candidates
            if c.key in ticked
        )
        return cam if ok and ticked else None

    # ---- showing ----------------------------------------------------------------------------------
    def present(self, session: ReviewSession, proposal: Proposal | None) -> None:
        self.session, self.proposal = session, proposal
        if proposal is None:
            self.clear()
            return
        items = [
            StripCandidate(
                c.key,
                self.crops[c.pair[1]].path,
                self.identity_label(c.key),
                self.cameras(c.crops),
                len(c.crops),
                c.score,
                c.prob,
            )
            for c in proposal.candidates
        ]
        self.candidates.set_items(items, [c.preselected for c in proposal.candidates])
        self.anchor_label.setText(
            f"<b>{html.escape(self.identity_label(proposal.anchor))}</b> · "
            f"{plural(len(proposal.anchor_crops), 'crop')} · {self.cameras(proposal.anchor_crops)}"
        )
        self.strip.setCurrentIndex(self.candidates.index(0))
        self._show_candidate(0)
        nxt = [self.crops[c.pair[1]].path for c in proposal.candidates[1:4] if c.pair[1] in self.crops]
        self.images.prefetch(nxt)

    def clear(self) -> None:
        self.proposal = None
        self.pairs = []
        self.candidates.set_items([], [])
        self.anchor_model.set_items([])
        self.other_model.set_items([])
        self.pair.clear()
        for label in (self.pair_label, self.anchor_label, self.other_label):
            label.setText("")

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
            f"{plural(len(c.crops), 'crop')} · {self.cameras(c.crops)}"
        )
        self.pairs = s.member_pairs(p.anchor, c.key)
        self.pair_index = 0
        self._show_pair()

    def _show_pair(self) -> None:
        p, s, row = self.proposal, self.session, self.current_row()
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
        qa, qb = self.crops[a], self.crops[b]
        self.pair.set_pair(
            self.images.get(qa.path),
            self.images.get(qb.path),
            s.stripe_matrix(a, b),
            qa.caption,
            qb.caption,
            f"{prob}group {c.score:.2f} · pair {sim:.2f}",
        )
        self.pair_label.setText(
            f"Crop pair {self.pair_index + 1} of {len(self.pairs)} (Tab / Shift+Tab for the others)"
        )

    # ---- operator -----------------------------------------------------------------------------------
    def toggle(self, row: int) -> None:
        if 0 <= row < self.candidates.rowCount():
            self.candidates.toggle(row)
            self.strip.setCurrentIndex(self.candidates.index(row))

    def move(self, step: int) -> None:
        row = self.current_row() + step
        if 0 <= row < self.candidates.rowCount():
            self.strip.setCurrentIndex(self.candidates.index(row))

    def step_pair(self, step: int) -> None:
        if self.pairs:
            self.pair_index = (self.pair_index + step) % len(self.pairs)
            self._show_pair()
