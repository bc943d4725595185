"""Gets the review screen ready: an encoder, embeddings for every crop, then the queue (off-thread)."""

from __future__ import annotations

import html
import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from reid_desktop.core.encoders.defaults import ensure_default_encoder, no_encoder_reason
from reid_desktop.core.encoders.embed import embed_project
from reid_desktop.core.encoders.registry import open_encoder
from reid_desktop.core.jobs import CancelToken, Progress, project_job
from reid_desktop.core.review.cache import Prepared, prepare_review
from reid_desktop.core.review.session import ReviewSession
from reid_desktop.store import Project, default_operator
from reid_desktop.ui.common.workspace import Workspace
from reid_desktop.ui.review.view import ReviewView, crop_lookup

log = logging.getLogger(__name__)


def embed_job(path: Path, encoder_id: int, token: CancelToken):
    return project_job(
        path, lambda p: embed_project(p, encoder_id, open_encoder(p.encoders.get(encoder_id)), token)
    )


def review_job(path: Path, encoder_id: int, token: CancelToken):
    yield Progress(0, None, "Scoring identities for review…")
    return (yield from project_job(path, lambda p: prepare_review(p, encoder_id, token)))


class ReviewController(QObject):
    addFoldersRequested = Signal()
    showTabRequested = Signal(str)

    def __init__(self, workspace: Workspace, view: ReviewView) -> None:
        super().__init__(workspace.parent)
        self.ws = workspace
        self.view = view
        self.operator = default_operator()

    @property
    def project(self) -> Project | None:
        return self.ws.project

    def activate(self) -> None:
        """(Re)build the session for the project's active encoder, doing what is missing first."""
        p = self.project
        self.view.clear_session()
        if p is None:
            self.view.show_empty("Open a project to review matches.")
            return
        if p.crops.count() == 0:
            self.view.show_empty(
                "No crops yet. Add camera folders first.",
                "Add Camera Folders…",
                self.addFoldersRequested.emit,
            )
            return
        encoder = ensure_default_encoder(p)
        if encoder is None:
            reason = no_encoder_reason(p)
            self.view.show_empty(
                f"No encoder to review with: {html.escape(reason)}.<br>"
                "Import one, or activate one, in the Models tab.",
                "Models…",
                lambda: self.showTabRequested.emit("Models"),
            )
            return
        missing = len(p.embeddings.missing_crop_ids(encoder.id))
        if missing:
            self.view.show_empty(
                f"{missing:,} crops have no embedding for <b>{encoder.name}</b> yet.<br>"
                "Embedding runs in the background and can be cancelled; finished crops are kept.",
                f"Embed {missing:,} crops",
                lambda: self.embed(encoder.id),
            )
            return
        self.view.model_label.setText(f"model: {encoder.name}")
        self.view.show_empty(f"Preparing identity review for <b>{encoder.name}</b>…")
        path = p.path
        self.ws.run_job(
            "Preparing review",
            lambda t: review_job(path, encoder.id, t),
            lambda res: self._ready(encoder.id, res),
            modal=False,
        )

    def embed(self, encoder_id: int) -> None:
        p = self.project
        encoder = p.encoders.get(encoder_id)
        self.view.clear_session(f"model: {encoder.name} (embedding…)")
        self.view.show_empty(f"Embedding crops for <b>{encoder.name}</b>…")
        path = p.path
        if (
            self.ws.run_job("Embedding crops", lambda t: embed_job(path, encoder_id, t), self._embedded)
            is None
        ):
            self.activate()  # another job runs: offer embedding again instead of claiming it runs

    def _embedded(self, report) -> None:
        msg = f"Embedded {report.encoded:,} crops on {report.provider} ({report.rate:,.0f}/s)"
        if report.cancelled:
            msg = (
                f"Embedding cancelled: {report.encoded:,} crops embedded and kept; "
                "the rest can be embedded later"
            )
        if report.failed:
            msg += f"; {len(report.failed)} could not be read"
        self.ws.status(msg, 8000)
        self.activate()

    def _ready(self, encoder_id: int, result) -> None:
        p = self.project
        if p is None:
            return
        if p.active_encoder_id != encoder_id:  # the encoder was switched while the queue was ranked
            self.activate()
            return
        prepared: Prepared = result
        crops = crop_lookup(p)
        session = ReviewSession.from_prepared(
            p,
            encoder_id,
            self.operator,
            prepared,
            floor=p.review_floor(encoder_id),
            readable=lambda c: c in crops and Path(crops[c].path).is_file(),
            crop_name=lambda c: crops[c].caption if c in crops else f"crop {c}",
        )
        encoder = p.encoders.get(encoder_id)
        self.view.set_session(session, crops, f"model: {encoder.name}")
