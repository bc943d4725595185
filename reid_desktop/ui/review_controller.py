"""Gets the review screen ready: a model, embeddings for every crop, then the queue (off-thread)."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject

from reid_desktop.core.embed import embed_project
from reid_desktop.core.jobs import CancelToken
from reid_desktop.core.model_setup import ensure_default_model
from reid_desktop.core.models import open_model
from reid_desktop.core.review_session import ReviewSession, prepare_queue
from reid_desktop.store import Project, default_operator

from .review_view import ReviewView, crop_lookup

log = logging.getLogger(__name__)


def embed_job(path: Path, model_id: int, token: CancelToken):
    project = Project.open(path)
    try:
        enc = open_model(project.models.get(model_id))
        report = yield from embed_project(project, model_id, enc, token)
    finally:
        project.close()
    return report


def queue_job(path: Path, model_id: int, token: CancelToken):
    from reid_desktop.core.jobs import Progress

    yield Progress(0, None, "Ranking candidates and ordering the review queue…")
    project = Project.open(path)
    try:
        return prepare_queue(project, model_id)
    finally:
        project.close()


class ReviewController(QObject):
    def __init__(self, window, view: ReviewView) -> None:
        super().__init__(window)
        self.window = window
        self.view = view
        self.operator = default_operator()

    @property
    def project(self) -> Project | None:
        return self.window.project

    def activate(self) -> None:
        """(Re)build the session for the project's active model, doing what is missing first."""
        p = self.project
        self.view.clear_session()
        if p is None:
            self.view.show_empty("Open a project to review matches.")
            return
        if p.crops.count() == 0:
            self.view.show_empty(
                "No crops yet. Add camera folders first.",
                "Add Camera Folders…",
                self.window.add_folders_dialog,
            )
            return
        model = ensure_default_model(p)
        if model is None:
            self.view.show_empty(
                "No encoder is available. Import one in the Models tab.",
                "Models…",
                lambda: self.window.show_tab("Models"),
            )
            return
        missing = len(p.embeddings.missing_crop_ids(model.id))
        if missing:
            self.view.show_empty(
                f"{missing:,} crops have no embedding for <b>{model.name}</b> yet.<br>"
                "Embedding runs in the background and can be cancelled; finished crops are kept.",
                f"Embed {missing:,} crops",
                lambda: self.embed(model.id),
            )
            return
        self.view.show_empty(f"Preparing the review queue for <b>{model.name}</b>…")
        path = p.path
        self.window.run_job(
            "Preparing review",
            lambda t: queue_job(path, model.id, t),
            lambda res: self._ready(model.id, res),
            modal=False,
        )

    def embed(self, model_id: int) -> None:
        path = self.project.path
        self.window.run_job(
            "Embedding crops", lambda t: embed_job(path, model_id, t), lambda rep: self._embedded(rep)
        )

    def _embedded(self, report) -> None:
        msg = f"Embedded {report.encoded:,} crops on {report.provider} ({report.rate:,.0f}/s)"
        if report.failed:
            msg += f"; {len(report.failed)} could not be read"
        self.window.statusBar().showMessage(msg, 8000)
        self.activate()

    def _ready(self, model_id: int, result) -> None:
        p = self.project
        if p is None:
            return
        if p.active_model_id != model_id:  # the model was switched while the queue was ranked
            self.activate()
            return
        index, queue = result
        session = ReviewSession(p, model_id, self.operator, index=index, queue=queue)
        model = p.models.get(model_id)
        self.view.set_session(session, crop_lookup(p), f"model: {model.name}")
