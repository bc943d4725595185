"""The main window: project lifecycle, menus and the crop browser. Work happens elsewhere."""

from __future__ import annotations

import html
import logging
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from reid_desktop import __version__
from reid_desktop.core.ingest.scan import IngestReport, ingest, rescan
from reid_desktop.core.jobs import project_job
from reid_desktop.core.names import display_name
from reid_desktop.store import SUFFIX, Project, ProjectError
from reid_desktop.ui.common.messages import error_text, show_error
from reid_desktop.ui.common.progress_dialog import JobProgressDialog
from reid_desktop.ui.common.shortcut_keys import give_window_shortcuts_precedence
from reid_desktop.ui.common.worker import JobHandle, prepare_job
from reid_desktop.ui.common.workspace import Workspace
from reid_desktop.ui.crops.add_folders_dialog import AddFoldersDialog
from reid_desktop.ui.crops.browser import CropBrowser
from reid_desktop.ui.crops.skipped_dialog import SkippedFilesDialog
from reid_desktop.ui.crops.thumbnails import ThumbnailCache
from reid_desktop.ui.encoders.actions import EncoderActions
from reid_desktop.ui.encoders.view import EncodersView
from reid_desktop.ui.export.actions import ExportActions
from reid_desktop.ui.identities.view import IdentitiesView
from reid_desktop.ui.reports.actions import ReportActions
from reid_desktop.ui.reports.map_view import EmbeddingMapView
from reid_desktop.ui.review.controller import ReviewController
from reid_desktop.ui.review.view import ReviewView
from reid_desktop.ui.shell.banner import Banner
from reid_desktop.ui.shell.menus import BUSY_BLOCKED, PROJECT_ACTIONS, build_menus
from reid_desktop.ui.shell.recent import RecentProjects

log = logging.getLogger(__name__)
FILE_FILTER = f"reid-desktop projects (*{SUFFIX});;All files (*)"


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings()
        self.recent = RecentProjects(self.settings)
        self.project: Project | None = None
        self.job: JobHandle | None = None
        self._identities_dirty = False
        self.thumbnails = ThumbnailCache(parent=self)

        from reid_desktop.ui.shell.welcome import WelcomePage

        self.welcome = WelcomePage()
        self.welcome.newRequested.connect(self.new_project_dialog)
        self.welcome.openRequested.connect(self.open_project_dialog)
        self.welcome.recentChosen.connect(self.open_project)
        self.browser = CropBrowser(self.thumbnails)
        self.browser.addFoldersRequested.connect(self.add_folders_dialog)
        self.banner = Banner()
        self.banner.actionTriggered.connect(self.show_skipped)
        self.review = ReviewView(self.thumbnails)
        self.workspace = Workspace(
            self,
            lambda: self.project,
            self.run_job,
            self.banner.show_message,
            lambda text, ms: self.statusBar().showMessage(text, ms),
        )
        self.review_ctl = ReviewController(self.workspace, self.review)
        self.review_ctl.addFoldersRequested.connect(self.add_folders_dialog)
        self.review_ctl.showTabRequested.connect(self.show_tab)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.browser, "Crops")
        self.tabs.addTab(self.review, "Review")
        self.identities = IdentitiesView(self.thumbnails)
        self.tabs.addTab(self.identities, "Identities")
        self.identities.changed.connect(self._identities_changed)
        self.encoders_view = EncodersView()
        self.tabs.addTab(self.encoders_view, "Models")
        self.encoder_actions = EncoderActions(self.workspace)
        self.encoder_actions.activated.connect(self._encoder_activated)
        self.encoder_actions.embedRequested.connect(self.review_ctl.embed)
        self.encoder_actions.listChanged.connect(self.encoders_view.reload)
        self.export_actions = ExportActions(self.workspace)
        self.encoders_view.activateRequested.connect(self.encoder_actions.activate)
        self.encoders_view.embedRequested.connect(self.encoder_actions.embed)
        self.encoders_view.importRequested.connect(self.encoder_actions.import_dialog)
        self.encoders_view.fineTuneRequested.connect(self.encoder_actions.fine_tune)
        self.encoders_view.renameRequested.connect(self.encoder_actions.rename)
        self.report_actions = ReportActions(self.workspace)
        self.encoders_view.reportRequested.connect(self.report_actions.report)
        self.encoders_view.compareRequested.connect(self.report_actions.compare)
        self.encoders_view.runsRequested.connect(self.report_actions.runs)
        self.map_view = EmbeddingMapView(self.workspace, self.thumbnails)
        self.map_view.showCropsRequested.connect(self.show_crops)
        self.tabs.addTab(self.map_view, "Map")
        self.tabs.currentChanged.connect(self._tab_changed)
        workspace = QWidget()
        wl = QVBoxLayout(workspace)
        wl.setContentsMargins(6, 6, 6, 6)
        wl.addWidget(self.banner)
        wl.addWidget(self.tabs, 1)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(workspace)
        self.setCentralWidget(self.stack)

        self.status_counts = QLabel()
        self.statusBar().addPermanentWidget(self.status_counts)
        self.browser.countsChanged.connect(lambda _: self._update_status())
        self._build_actions()
        give_window_shortcuts_precedence(self)  # e.g. Ctrl+E while a filter box has focus
        self.resize(1180, 760)
        self._restore_layout()
        self._show_project_state()

    def _build_actions(self) -> None:
        build_menus(self)

    def _show_project_state(self) -> None:
        has = self.project is not None
        busy = self.job is not None
        for name in PROJECT_ACTIONS:
            getattr(self, name).setEnabled(has and not (busy and name in BUSY_BLOCKED))
        self.stack.setCurrentIndex(1 if has else 0)
        self.welcome.set_recent(self.recent.existing())
        title = f"{self.project.path.name} — reid-desktop" if has else "reid-desktop"
        self.setWindowTitle(title)
        self._update_status()

    def _update_status(self) -> None:
        if self.project is None:
            self.status_counts.setText("")
            return
        s = self.browser.cameras.stats()
        crops = sum(c.present for c in s)
        skipped = sum(c.skipped for c in s)
        text = f"{len(s)} camera(s) · {crops:,} crops"
        if skipped:
            text += f" · {skipped:,} skipped"
        self.status_counts.setText(text)

    # ---- project lifecycle -------------------------------------------------------------
    def _start_dir(self) -> str:
        return str(self.settings.value("lastDir", str(Path.home())))

    def new_project_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "New project", self._start_dir(), FILE_FILTER)
        if path:
            self.create_project(path)

    def open_project_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open project", self._start_dir(), FILE_FILTER)
        if path:
            self.open_project(path)

    def create_project(self, path: str | Path) -> bool:
        return self._use_project(lambda: Project.create(path), "Cannot create project")

    def open_project(self, path: str | Path) -> bool:
        ok = self._use_project(lambda: Project.open(path), "Cannot open project")
        if not ok and not Path(path).exists():
            self.recent.remove(path)
            self.welcome.set_recent(self.recent.existing())
        return ok

    def _use_project(self, opener, title: str) -> bool:
        if self.job is not None:
            show_error(self, title, "Wait for the running scan to finish or cancel it first.")
            return False
        try:
            project = opener()
        except ProjectError as exc:
            show_error(self, title, str(exc))
            return False
        self.close_project()
        self.project = project
        self.review.clear_session()
        self.identities.set_project(project)
        self.encoders_view.set_project(project)
        self.recent.add(project.path)
        self.settings.setValue("lastDir", str(project.path.parent))
        self.browser.set_project(project)
        self._show_project_state()
        self.refresh_map_if_shown()
        self.statusBar().showMessage(f"Opened {project.path}", 5000)
        self.refresh_review_if_shown()  # reopened with the Review tab in front: fill it now
        return True

    def close_project(self) -> None:
        if self.project is None:
            return
        project = self.project
        try:
            self.encoder_actions.stop_training()
            self.report_actions.close_all()
            self.map_view.clear()
            self.thumbnails.clear()
            self.review.clear_session()
            self.review.show_empty("Open a project to review matches.")
            self.identities.set_project(None)
            self.encoders_view.set_project(None)
            self.browser.set_project(None)
            self.banner.hide()
        finally:  # a project that fails to read is closed all the same
            project.close()
            self.project = None
            self._show_project_state()

    # ---- scanning -------------------------------------------------------------------------
    def add_folders_dialog(self) -> None:
        dlg = AddFoldersDialog(self, str(self.settings.value("lastCameraDir", str(Path.home()))))
        if dlg.exec() and dlg.folders():
            self.settings.setValue("lastCameraDir", str(Path(dlg.folders()[-1]).parent))
            self.add_folders(dlg.folders(), dlg.layout_choice())

    def add_folders(self, folders: list[str], layout: str = "auto") -> JobHandle | None:
        path = self.project.path
        return self._run_scan(
            "Scanning camera folders",
            lambda token: project_job(path, lambda p: ingest(p, folders, layout, token)),
        )

    def rescan(self) -> JobHandle | None:
        path = self.project.path
        return self._run_scan(
            "Re-scanning camera folders", lambda token: project_job(path, lambda p: rescan(p, token))
        )

    def _run_scan(self, title: str, factory) -> JobHandle | None:
        return self.run_job(title, factory, self._scan_finished)

    def run_job(self, title: str, factory, on_finished=None, *, modal: bool = True) -> JobHandle | None:
        """Run one long job at a time off the GUI thread, with a progress dialog and Cancel."""
        if self.project is None:
            return None
        if self.job is not None:
            self.statusBar().showMessage(f"Wait for “{self.job.name}” to finish or cancel it.", 5000)
            return None
        self.job = prepare_job(title, factory, parent=self)
        result: list = []
        self.job.finished.connect(result.append)
        self.job.failed.connect(lambda msg: show_error(self, f"{title} failed", msg))
        self.job.cancelled.connect(lambda: self.statusBar().showMessage(f"{title}: cancelled", 5000))

        handle = self.job

        def after() -> None:  # the window is free again before the follow-up runs (it may start a job)
            try:
                self._job_done()
                if not modal:
                    self.statusBar().clearMessage()
                if result and on_finished is not None:
                    on_finished(result[0])
                self.refresh_review_if_shown()
                self.refresh_map_if_shown()
                self.refresh_models_if_shown()
            except Exception as exc:  # a follow-up that fails says why, in the window
                log.exception("after %s", title)
                show_error(self, f"{title} failed", error_text(exc, getattr(self.project, "path", None)))
            finally:
                result.clear()  # large results (an index, a queue) must not outlive their use
                handle.deleteLater()

        self.job.done.connect(after)
        if modal:
            JobProgressDialog(self.job, title, self)
        else:
            self.job.progress.connect(lambda p: self.statusBar().showMessage(p.message))
        self.job.start()
        self._show_project_state()
        return self.job

    def _job_done(self) -> None:
        self.job = None
        try:
            if self.project is not None:
                self.browser.refresh()
        finally:  # a project that fails to read must still be closable
            self._show_project_state()

    def refresh_review_if_shown(self) -> None:
        """Rebuild the review screen now if it is visible and was cleared (new crops, new model)."""
        if (
            self.project is not None
            and self.job is None
            and self.review.session is None
            and self.tabs.currentWidget() is self.review
        ):
            self.review_ctl.activate()

    def refresh_map_if_shown(self) -> None:
        """New embeddings, decisions or project: the visible map catches up (no job if current)."""
        if self.job is None and self.tabs.currentWidget() is self.map_view:
            self.map_view.refresh()

    def refresh_models_if_shown(self) -> None:
        """A job may have embedded, imported or trained: the visible Models table catches up."""
        if self.project is not None and self.tabs.currentWidget() is self.encoders_view:
            self.encoders_view.reload()

    def show_tab(self, name: str) -> None:
        for i in range(self.tabs.count()):
            if self.tabs.tabText(i) == name:
                self.tabs.setCurrentIndex(i)

    def show_crops(self, crop_ids, current: int | None = None) -> None:
        """The Crops tab, showing only `crop_ids` (None: all) with `current` selected."""
        self.show_tab("Crops")  # first: a hidden grid cannot scroll to the crop
        self.browser.show_crops(crop_ids, current)

    def _tab_changed(self, index: int) -> None:
        w = self.tabs.widget(index)
        if w is self.review:
            if self.review.session is None and self.job is None:
                self.review_ctl.activate()
            elif self.review.session is not None and self._identities_dirty:
                self.review.session.refresh_links()  # edits made in Identities
                self.review.show_current()
            self._identities_dirty = False
        elif w is self.identities and self.project is not None:
            self.identities.reload()
        elif w is self.encoders_view and self.project is not None:
            self.encoders_view.reload()
        elif w is self.map_view:
            self.map_view.refresh()

    def _encoder_activated(self, encoder_id: int) -> None:
        """Another encoder is active: embed only what it lacks, then the review is rebuilt."""
        self.encoders_view.reload()
        self.review.clear_session()
        if self.project.embeddings.missing_crop_ids(encoder_id):
            self.review_ctl.embed(encoder_id)
        else:
            self.statusBar().showMessage("Model activated; every crop already has its embedding.", 5000)
            self.refresh_review_if_shown()

    def _identities_changed(self) -> None:
        self._identities_dirty = True

    def _scan_finished(self, report: IngestReport) -> None:
        self.review.clear_session()  # new crops: the session is rebuilt when Review is shown
        n_skip = len(report.skipped)
        missing = sum(len(s.missing) for s in report.sources)
        parts = [f"<b>{report.added:,}</b> crops added"]
        if missing:
            parts.append(f"{missing:,} missing since last scan")
        if n_skip:
            parts.append(f"<b>{n_skip:,}</b> files skipped")
        text = "Scan finished: " + ", ".join(parts) + "."
        if report.cancelled:
            text = "Scan cancelled; crops checked so far were saved. " + ", ".join(parts) + "."
        notes = report.errors + report.warnings
        if notes:
            text += "<br>" + "<br>".join(html.escape(display_name(n)) for n in notes)
        kind = "warning" if (n_skip or notes or report.cancelled) else "info"
        self.banner.show_message(text, kind, "Show skipped files…" if n_skip else "")

    def show_skipped(self) -> SkippedFilesDialog | None:
        if self.project is None:
            return None
        dlg = SkippedFilesDialog(self.project.skipped.all(), self)
        dlg.setAttribute(Qt.WA_DeleteOnClose)
        dlg.open()
        return dlg

    def relink_dialog(self) -> None:
        from reid_desktop.ui.crops.relink_dialog import RelinkDialog

        dlg = RelinkDialog(self.project, self)
        if dlg.exec():
            self.browser.refresh()
            self.rescan()

    # ---- help ------------------------------------------------------------------------------
    def show_help(self, page: int = 1):
        """F1: the shortcuts of every screen (page 1) and how to work (page 0)."""
        from reid_desktop.ui.shell.help_dialogs import HelpDialog, shortcut_groups

        screens = [self.tabs.tabText(i) for i in range(self.tabs.count())]
        dlg = HelpDialog(self, shortcut_groups(self.findChildren(QAction), self.screen_of, screens), page)
        dlg.setAttribute(Qt.WA_DeleteOnClose)
        dlg.open()
        return dlg

    def screen_of(self, action: QAction) -> str:
        """The tab an action works on (its widget's tab, or the screen it says), else everywhere."""
        w = action.parent()
        while isinstance(w, QWidget) and w is not self:
            i = self.tabs.indexOf(w)
            if i >= 0:
                return self.tabs.tabText(i)
            w = w.parentWidget()
        return action.property("screen") or "Everywhere"

    def show_about(self) -> None:
        from reid_desktop.ui.shell.help_dialogs import about_dialog

        about_dialog(self, __version__).open()

    def _restore_layout(self) -> None:
        """Window geometry and thumbnail size as the operator left them (a damaged or foreign
        value is ignored: the defaults stay)."""
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        try:
            zoom = int(self.settings.value("crops/thumbnailWidth", self.browser.zoom.value()))
        except (TypeError, ValueError):
            return
        self.browser.zoom.setValue(zoom)  # clamped to the slider's range

    def _save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("crops/thumbnailWidth", self.browser.zoom.value())

    def closeEvent(self, event: QCloseEvent) -> None:
        self._save_layout()
        if self.job is not None:
            self.job.cancel()  # the job commits what it has; wait briefly for it
            from PySide6.QtCore import QThreadPool

            QThreadPool.globalInstance().waitForDone(10_000)
        self.close_project()
        self.thumbnails.wait(2000)
        super().closeEvent(event)
