"""A progress dialog with Cancel bound to a running job."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QProgressDialog, QWidget

from reid_desktop.core.jobs import Progress
from reid_desktop.ui.common.worker import JobHandle


class JobProgressDialog(QProgressDialog):
    """Shows a job's progress; Cancel (or Esc) asks the job to stop at the next safe point."""

    def __init__(self, handle: JobHandle, title: str, parent: QWidget | None = None) -> None:
        super().__init__(title, "Cancel", 0, 0, parent)
        self.setWindowTitle(title)
        self.setWindowModality(Qt.WindowModal)
        self.setMinimumDuration(300)  # quick jobs finish without a flash of dialog
        self.setMinimumWidth(460)
        self.setAutoClose(False)
        self.setAutoReset(False)
        self._handle = handle
        handle.progress.connect(self._on_progress)
        handle.done.connect(self._on_done)
        self.canceled.connect(self._on_cancel)

    def _on_progress(self, p: Progress) -> None:
        if p.total:
            self.setMaximum(p.total)
            self.setValue(min(p.done, p.total))
        else:
            self.setMaximum(0)  # busy indicator while the total is unknown
        self.setLabelText(p.message)

    def _on_cancel(self) -> None:
        self.setLabelText("Cancelling… work done so far is kept.")
        self._handle.cancel()
        self.show()  # stay visible until the job really stops

    def _on_done(self) -> None:
        self.canceled.disconnect(self._on_cancel)
        self.close()
        self.deleteLater()
