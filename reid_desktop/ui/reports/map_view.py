"""The Map tab: the active model's embedding map, computed off the GUI thread when the tab is
shown and the embeddings or identities changed since. A click shows the crop in the Crops tab;
a lasso selection filters the Crops tab to the crops inside it."""

from __future__ import annotations

import html
import logging

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from reid_desktop.core.reports.embedding_map import MAX_TSNE, EmbeddingMap, embedding_map_job, methods_for
from reid_desktop.ui.common.workspace import Workspace
from reid_desktop.ui.plots.embedding_map import EmbeddingMapPlot, ThumbnailSource

log = logging.getLogger(__name__)


class EmbeddingMapView(QWidget):
    showCropsRequested = Signal(object, object)  # crop ids to show (None: all), crop id to select

    def __init__(
        self, workspace: Workspace, thumbnails: ThumbnailSource | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ws = workspace
        self.key: tuple | None = None  # what the map on screen was computed from
        self._tsne_ok = False  # t-SNE installed and the collection small enough
        self.plot = EmbeddingMapPlot(thumbnails)
        self.plot.cropActivated.connect(lambda crop: self.showCropsRequested.emit(None, crop))
        self.plot.selectionChanged.connect(self._selection_changed)
        self.method = QComboBox()
        self.method.setObjectName("mapProjection")
        self.method.addItem("PCA", "pca")
        self.method.addItem("t-SNE", "tsne")
        self.method.currentIndexChanged.connect(lambda _i: self.refresh())
        self.colour = QComboBox()
        self.colour.addItem("identity", "identity")
        self.colour.addItem("camera", "camera")
        self.colour.currentIndexChanged.connect(lambda _i: self.plot.set_colour_by(self.colour.currentData()))
        self.lasso = QPushButton("Lasso  [L]")
        self.lasso.setCheckable(True)
        self.lasso.setToolTip("Draw around points to select them (or drag with Shift held)")
        self.lasso.toggled.connect(self._lasso_toggled)
        self.show_button = QPushButton("Show in Crops  [Enter]")
        self.show_button.clicked.connect(self.show_selection)
        self.clear_button = QPushButton("Clear  [Esc]")
        self.clear_button.clicked.connect(self.plot.clear_selection)
        self.recompute = QPushButton("Recompute")
        self.recompute.clicked.connect(lambda: self.refresh(force=True))
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Projection"))
        bar.addWidget(self.method)
        bar.addWidget(QLabel("Colour by"))
        bar.addWidget(self.colour)
        bar.addSpacing(12)
        bar.addWidget(self.lasso)
        bar.addWidget(self.show_button)
        bar.addWidget(self.clear_button)
        bar.addStretch()
        bar.addWidget(self.recompute)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.message = QLabel()
        self.message.setAlignment(Qt.AlignCenter)
        self.message.setWordWrap(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.message)
        self.stack.addWidget(self.plot)
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.info)
        # Actions (not bare shortcuts) so F1 lists them under this tab.
        for text, keys, slot in (
            ("Lasso", ["L"], self.lasso.toggle),
            (
                "Show selection in Crops",
                [QKeySequence(Qt.Key_Enter), QKeySequence(Qt.Key_Return)],  # F1 says "Enter"
                self.show_selection,
            ),
            ("Clear selection", [QKeySequence(Qt.Key_Escape)], self.plot.clear_selection),
        ):
            act = QAction(text, self)
            act.setShortcuts([QKeySequence(k) for k in keys])
            act.setShortcutContext(Qt.WidgetWithChildrenShortcut)
            act.triggered.connect(lambda *_a, slot=slot: slot())
            self.addAction(act)
        self._selection_changed([])
        self._show_message("Open a project to see its embedding map.")

    def _show_message(self, text: str) -> None:
        self.message.setText(text)
        self.stack.setCurrentWidget(self.message)
        self.info.setText("")

    def _lasso_toggled(self, on: bool) -> None:
        self.plot.lasso_mode = on
        self.plot.setFocus()

    def _selection_changed(self, crop_ids: list[int]) -> None:
        self.selection = list(crop_ids)
        self.show_button.setEnabled(bool(crop_ids))
        self.clear_button.setEnabled(bool(crop_ids))
        if crop_ids:
            self.ws.status(f"{len(crop_ids):,} crops selected on the map — Enter shows them in Crops", 8000)

    def show_selection(self) -> None:
        if self.selection:
            self.showCropsRequested.emit(self.selection, None)

    def clear(self) -> None:
        """The project closed: forget the map."""
        self.key = None
        self.plot.show_map(None)
        self._show_message("Open a project to see its embedding map.")

    def refresh(self, force: bool = False) -> None:
        """Compute the map of the active model unless the one shown is still current."""
        p = self.ws.project
        if p is None:
            self.clear()
            return
        encoder_id = p.active_encoder_id
        if encoder_id is None:
            self._show_message(
                "No model yet: open the Review tab to add the default encoder and embed crops."
            )
            return
        n = p.embeddings.count(encoder_id)
        name = p.encoders.get(encoder_id).name
        if n == 0:
            self._show_message(
                f"No crop has an embedding for <b>{html.escape(name)}</b> yet: embed them from the "
                "Review or Models tab."
            )
            return
        offered = methods_for(n)
        tsne = self.method.model().item(1)
        self._tsne_ok = "tsne" in offered
        tsne.setEnabled(self._tsne_ok)
        tsne.setToolTip(
            ""
            if "tsne" in offered
            else f"needs the optional “maps” extra (openTSNE) and at most {MAX_TSNE:,} crops"
        )
        method = self.method.currentData() if self.method.currentData() in offered else "pca"
        decisions = p.decisions.count(active_only=False)
        key = (str(p.path), encoder_id, p.embeddings.fingerprint(encoder_id), decisions, method)
        if key == self.key and not force:
            return
        path = p.path
        started = self.ws.run_job(
            f"Embedding map ({'t-SNE' if method == 'tsne' else 'PCA'})",
            lambda token: embedding_map_job(path, encoder_id, method, token),
            lambda m: self._ready(m, key),
            modal=method == "tsne",  # t-SNE takes a while: a progress dialog with Cancel
        )
        if started is not None and method == "tsne":
            started.cancelled.connect(self._tsne_cancelled)
        if started is None:
            self.info.setText("Another job is running; the map is computed when it has finished (Recompute).")
        elif self.stack.currentWidget() is self.message:
            self._show_message(f"Projecting the embeddings of <b>{html.escape(name)}</b>…")

    def _tsne_cancelled(self) -> None:
        """Back to PCA; the window refreshes the visible map once the cancelled job has ended."""
        self.method.blockSignals(True)
        self.method.setCurrentIndex(0)
        self.method.blockSignals(False)

    def _ready(self, m: EmbeddingMap, key: tuple) -> None:
        self.key = key
        self.stack.setCurrentWidget(self.plot)
        self.plot.show_map(m)
        labelled = int((m.identity >= 0).sum())
        identities = len(np.unique(m.identity[m.identity >= 0]))
        self.info.setText(
            f"<b>{html.escape(m.encoder_name)}</b> · {len(m):,} crops, {identities:,} identities "
            f"({labelled:,} crops coloured, {len(m) - labelled:,} grey: in no identity yet) · "
            f"{html.escape(m.note)} · computed in {m.seconds:.2f} s. Hover for the crop, click to show "
            "it in Crops, L or Shift+drag to lasso."
            + (
                " t-SNE (Projection) keeps identities apart better."
                if m.method == "pca" and self._tsne_ok
                else ""
            )
        )
