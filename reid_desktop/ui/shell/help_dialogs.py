"""Help (F1): how to work, step by step, and the keyboard shortcuts grouped by screen (built
from the window's actions, so it lists what really works); the About box."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from PySide6.QtCore import Qt
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
<li><b>Review</b> tab (Ctrl+2): the first time, press <b>Embed N crops</b>. Then judge pairs with
the keyboard: <b>S</b> same, <b>D</b> different, <b>K</b> skip, <b>1–9</b> another candidate,
<b>U</b> undo, <b>Shift+U</b> redo, <b>← / →</b> previous / next pair.</li>
<li><b>Identities</b> tab: name people (F2), add notes, merge (Ctrl+M), split selected crops
(Ctrl+Shift+S), delete a wrong link (Del), undo / redo (Ctrl+Z / Ctrl+Shift+Z or Ctrl+Y).</li>
<li><b>Models → Fine-tune…</b> (Ctrl+T) once at least 7 identities are confirmed: pick a recipe and
a time budget, press Start, and at the end <b>Activate &amp; re-score</b>. The <b>Models</b> tab
lists every encoder with its preprocessing; <b>Import Model…</b> adds another re-ID ONNX file;
<b>Report…</b> (Ctrl+R), <b>Compare…</b> and <b>Training runs…</b> show how a model separates your
confirmed identities, against another model, and how past fine-tunes trained. The <b>Map</b> tab
(Ctrl+5) places every crop by its embedding: hover to see it, click to find it in Crops, L to
lasso.</li>
<li><b>File → Export Identities (Market-1501)…</b> (Ctrl+E): choose a folder, the test share and
the seed.</li>
</ol>
<p>Every decision is saved at once; undo never deletes anything. Long work runs in the background
with a progress bar; Esc or Cancel stops it and keeps what is done.</p>
"""


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


def about_dialog(parent: QWidget, version: str) -> QMessageBox:
    return QMessageBox(
        QMessageBox.Information,
        "About reid-desktop",
        f"<b>reid-desktop {version}</b><br>Offline cross-camera person re-identification "
        "review.<br>Everything runs on this workstation; nothing is sent anywhere.",
        QMessageBox.Ok,
        parent,
    )
