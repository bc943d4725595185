"""Export confirmed identities as a Market-1501 folder, from the menu (Ctrl+E)."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QObject

from reid_desktop.core.export.market import export_market
from reid_desktop.core.jobs import CancelToken, project_job
from reid_desktop.ui.common.workspace import Workspace


def export_job(project_path: Path, options: dict, token: CancelToken):
    return project_job(
        project_path,
        lambda p: export_market(
            p,
            options["out_dir"],
            test_ratio=options["test_ratio"],
            seed=options["seed"],
            overwrite=options["overwrite"],
            cancel=token,
        ),
        read_only=True,
    )


class ExportActions(QObject):
    def __init__(self, workspace: Workspace) -> None:
        super().__init__(workspace.parent)
        self.ws = workspace

    def open_dialog(self) -> None:
        from reid_desktop.ui.export.dialog import ExportDialog

        dlg = ExportDialog(self.ws.project, self.ws.parent)
        if dlg.exec():
            opts = dlg.options()
            path = self.ws.project.path
            self.ws.run_job("Exporting identities", lambda t: export_job(path, opts, t), self._exported)

    def _exported(self, report) -> None:
        text = f"Exported {report.identities} identities ({report.written} images) to {report.out_dir}."
        if report.cancelled:
            text = "Export cancelled; images written so far are kept, no index was written."
        text = html.escape(text) + "".join(f"<br>{html.escape(w)}" for w in report.warnings)
        warn = report.cancelled or bool(report.warnings)
        self.ws.notify(text, "warning" if warn else "info")
