"""The model report window: one encoder, or two side by side (e.g. before and after a fine-tune),
on the identities operators confirmed."""

from __future__ import annotations

import html

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from reid_desktop.core.reports.model_report import ModelReport
from reid_desktop.ui.plots.report_plots import CmcPlot, ScorePlot
from reid_desktop.ui.plots.style import MODELS

FIGURES = (("Rank-1", "rank1"), ("Rank-5", "rank5"), ("Rank-10", "rank10"), ("mAP", "mAP"), ("mINP", "mINP"))


def figures_table(reports: list[ModelReport]) -> str:
    """Rich text: one column per model, a Δ column for two."""
    head = "".join(
        f"<th align=right style='color:{MODELS[i % len(MODELS)]}'>{html.escape(r.encoder_name)}</th>"
        for i, r in enumerate(reports)
    )
    delta = len(reports) == 2 and all(r.metrics is not None for r in reports)
    rows = []
    for label, attr in FIGURES:
        cells = "".join(
            f"<td align=right>{getattr(r.metrics, attr):.3f}</td>" if r.metrics else "<td align=right>–</td>"
            for r in reports
        )
        if delta:
            d = getattr(reports[1].metrics, attr) - getattr(reports[0].metrics, attr)
            colour = "#2a8c5a" if d > 0.0005 else "#c0392b" if d < -0.0005 else "#666666"
            cells += f"<td align=right style='color:{colour}'>{d:+.3f}</td>"
        rows.append(f"<tr><td>{label}</td>{cells}</tr>")
    queries = "".join(f"<td align=right>{r.metrics.queries if r.metrics else 0:,}</td>" for r in reports)
    rows.append(f"<tr><td>queries</td>{queries}{'<td></td>' if delta else ''}</tr>")
    return (
        "<table cellpadding=3 cellspacing=0><tr><th></th>"
        + head
        + ("<th align=right>Δ</th>" if delta else "")
        + "</tr>"
        + "".join(rows)
        + "</table>"
    )


def context_text(r: ModelReport) -> str:
    parts = [
        f"{r.identities:,} confirmed identities, {r.crops:,} crops"
        + (f" ({r.single_camera} identities seen by one camera only)" if r.single_camera else "")
    ]
    if r.protocol:
        parts.append(f"protocol: {r.protocol}, same person in the same camera not counted")
    if r.encoded_now:
        parts.append(f"{r.encoded_now:,} crops without a stored embedding were encoded for this report")
    parts += r.notes
    return " · ".join(parts)


class ModelReportDialog(QDialog):
    def __init__(self, reports: list[ModelReport], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.reports = list(reports)
        names = " vs ".join(r.encoder_name for r in reports)
        self.setWindowTitle(("Compare models — " if len(reports) > 1 else "Model report — ") + names)
        self.figures = QLabel(figures_table(reports))
        self.figures.setSizePolicy(QSizePolicy.Maximum, QSizePolicy.Preferred)
        self.cmc = CmcPlot()
        self.cmc.show_reports(reports)
        self.scores = []
        for r in reports:
            plot = ScorePlot()
            plot.show_scores(r.scores, f"Scores of judged pairs — {r.encoder_name}")
            self.scores.append(plot)
        self.context = QLabel(
            "<br>".join(
                f"<b>{html.escape(r.encoder_name)}</b>: {html.escape(context_text(r))}" for r in reports
            )
        )
        self.context.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        top = QHBoxLayout()
        top.addWidget(self.figures)
        top.addWidget(self.cmc, 1)
        bottom = QHBoxLayout()
        for plot in self.scores:
            bottom.addWidget(plot, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(top, 1)
        lay.addLayout(bottom, 1)
        lay.addWidget(self.context)
        lay.addWidget(buttons)
        screen = QGuiApplication.primaryScreen().availableGeometry()
        self.resize(min(1180, screen.width() - 40), min(760, screen.height() - 60))
