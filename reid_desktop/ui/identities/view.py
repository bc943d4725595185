"""The identities screen: list with camera coverage, crops grouped by camera, and undoable
rename / notes / merge / split / delete-link. Every change is a decision or a name row."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRect, QSize, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QAction, QIcon, QKeySequence, QPainter, QPixmap, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from reid_desktop.core.identities import curation as ident
from reid_desktop.core.identities.ledger import DecisionLedger
from reid_desktop.store import Project, default_operator
from reid_desktop.ui.crops.crop_model import CropIdRole, CropItem, CropListModel
from reid_desktop.ui.crops.thumbnails import ThumbnailCache
from reid_desktop.ui.identities.identity_model import IdentityTableModel, RowRole
from reid_desktop.ui.identities.merge_dialog import MergeDialog


class _ActionCommand(QUndoCommand):
    """One ledger action (merge, split, delete link): undo = undo the action, redo = undo that
    undo. Nothing is deleted; the audit trail keeps every step."""

    def __init__(self, view: IdentitiesView, text: str, action_id: int) -> None:
        super().__init__(text)
        self.view, self.action_id, self.first = view, action_id, True

    def _flip(self) -> None:
        try:
            self.action_id = self.view.ledger.undo(self.action_id, operator=self.view.operator).id
        except ValueError as exc:  # undone in the Review tab meanwhile
            self.view.message.setText(f"Not changed: {exc}.")
        self.view.reload()

    def redo(self) -> None:
        if self.first:  # the edit itself was applied before the command was pushed
            self.first = False
            return
        self._flip()
        self.view.message.setText(f"Redone: {self.text()}")

    def undo(self) -> None:
        self._flip()
        self.view.message.setText(f"Undone: {self.text()} · Redo (Ctrl+Shift+Z)")


class _NameCommand(QUndoCommand):
    def __init__(self, view: IdentitiesView, row: ident.IdentityRow, name: str, notes: str) -> None:
        super().__init__(f"Rename {row.label}")
        self.view, self.row, self.new, self.old = view, row, (name, notes), (row.name, row.notes)
        self.sid: int | None = row.stored_id

    def _apply(self, name: str, notes: str) -> None:
        row = ident.IdentityRow(self.row.key, self.row.crops, stored_id=self.sid)
        self.sid = ident.save_name(self.view.project, row, name, notes)
        self.view.reload()

    def redo(self) -> None:
        self._apply(*self.new)

    def undo(self) -> None:
        self._apply(*self.old)


class IdentitiesView(QWidget):
    changed = Signal()

    def __init__(self, thumbnails: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        self.ledger: DecisionLedger | None = None
        self.thumbnails = thumbnails
        thumbnails.ready.connect(self._thumbnail_ready)
        self.operator = default_operator()
        self.undo_stack = QUndoStack(self)
        self.model = IdentityTableModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(0)
        self.proxy.setFilterCaseSensitivity(Qt.CaseInsensitive)
        self.proxy.setSortRole(Qt.UserRole)
        self.filter = QLineEdit(placeholderText="Filter identities by name…")
        self.filter.textChanged.connect(self._name_filter)
        self.camera_filter = QComboBox()
        self.camera_filter.currentIndexChanged.connect(lambda _i: self._apply_camera_filter())
        self.table = QTableView()
        self.table.setObjectName("identityTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QTableView.SelectRows)
        self.table.setSelectionMode(QTableView.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._show_detail())
        self.summary = QLabel()

        self.title = QLabel()
        self.title.setObjectName("identityTitle")
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.crops = CropListModel(thumbnails, self)
        self.grid = QListView()
        self.grid.setModel(self.crops)
        self.grid.setViewMode(QListView.IconMode)
        self.grid.setResizeMode(QListView.Adjust)
        self.grid.setMovement(QListView.Static)
        self.grid.setIconSize(QSize(64, 128))
        self.grid.setGridSize(QSize(96, 160))
        self.grid.setSelectionMode(QListView.ExtendedSelection)
        self.links = QListWidget()
        self.links.setObjectName("identityLinks")
        self.links.setIconSize(QSize(36, 36))
        self.links.setMaximumHeight(130)

        buttons = QHBoxLayout()
        self.acts: dict[str, QAction] = {}
        for key, text, shortcut, slot in (
            ("rename", "Rename…", "F2", self.rename),
            ("notes", "Notes…", "Ctrl+Shift+N", self.edit_notes),
            ("merge", "Merge with…", "Ctrl+M", self.merge_dialog),
            ("split", "Split selected crops", "Ctrl+Shift+S", self.split_selected),
            ("unlink", "Delete selected link", "Del", self.delete_link),
        ):
            act = QAction(text, self)
            act.setShortcut(QKeySequence(shortcut))
            act.setShortcutContext(Qt.WidgetWithChildrenShortcut)
            act.triggered.connect(lambda _checked=False, s=slot: s())  # not the checked flag as an arg
            self.addAction(act)
            self.acts[key] = act
            b = QPushButton(f"{text} [{QKeySequence(shortcut).toString(QKeySequence.NativeText)}]")
            b.clicked.connect(act.trigger)
            buttons.addWidget(b)
        undo = self.undo_stack.createUndoAction(self, "Undo")
        undo.setShortcuts(QKeySequence.Undo)
        redo = self.undo_stack.createRedoAction(self, "Redo")
        redo.setShortcuts(QKeySequence.Redo)
        for a in (undo, redo):
            a.setShortcutContext(Qt.WidgetWithChildrenShortcut)
            self.addAction(a)
        buttons.addStretch()
        self.message = QLabel()
        self.message.setStyleSheet("color: #a03000;")
        self.message.setWordWrap(True)

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.filter, 1)
        row.addWidget(self.camera_filter)
        ll.addLayout(row)
        ll.addWidget(self.table, 1)
        ll.addWidget(self.summary)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.title)
        rl.addWidget(self.notes)
        rl.addWidget(self.grid, 1)
        rl.addWidget(QLabel("Links (“same” decisions) in this identity:"))
        rl.addWidget(self.links)
        rl.addWidget(self.message)
        rl.addLayout(buttons)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([480, 800])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)

    # ---- data -------------------------------------------------------------------------------------
    def set_project(self, project: Project | None) -> None:
        self.project = project
        self.ledger = DecisionLedger(project) if project is not None else None
        self.undo_stack.clear()
        self.reload()

    def reload(self) -> None:
        keep = self.current()
        if self.ledger is not None:
            self.ledger.sync()  # only rows appended since the last reload are read
        rows = ident.identity_rows(self.project, self.ledger.links) if self.project else []
        cams = [c.name for c in self.project.cameras.all()] if self.project else []
        self._paths = self._crop_paths() if self.project else {}
        self.model.set_rows(rows, cams)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.Stretch)
        for col in range(1, self.model.columnCount()):  # counts and coverage stay compact
            hh.setSectionResizeMode(col, QHeaderView.ResizeToContents)
        current = self.camera_filter.currentText()
        self.camera_filter.blockSignals(True)
        self.camera_filter.clear()
        self.camera_filter.addItems(["All cameras", *cams])
        self.camera_filter.setCurrentText(current or "All cameras")
        self.camera_filter.blockSignals(False)
        bad = sum(1 for r in rows if r.contradictions)
        text = f"{len(rows):,} identities · {sum(len(r.crops) for r in rows):,} crops"
        self.summary.setText(
            text + (f" · <span style='color:#a03000'>⚠ {bad} with contradictions</span>" if bad else "")
        )
        self._apply_camera_filter()
        if keep is not None:
            self.select_key(keep.key, fallback_crops=keep.crops)
        elif rows:
            self.table.selectRow(0)
        self._show_detail()
        self.changed.emit()

    def _crop_paths(self) -> dict[int, tuple[str, str, str]]:
        cams = {c.id: c.name for c in self.project.cameras.all()}
        paths = self.project.crops.paths(include_missing=True)
        return {
            c.id: (cams[c.camera_id], c.rel_path, str(paths[c.id]))
            for c in self.project.crops.all(include_missing=True)
        }

    def _name_filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)
        self._apply_camera_filter()

    def _apply_camera_filter(self) -> None:
        cam = self.camera_filter.currentText()
        for r in range(self.proxy.rowCount()):
            row = self.proxy.index(r, 0).data(RowRole)
            self.table.setRowHidden(r, cam not in ("", "All cameras") and cam not in row.cameras)

    def current(self) -> ident.IdentityRow | None:
        idx = self.table.currentIndex()
        return idx.data(RowRole) if idx.isValid() else None

    def select_key(self, key: int, fallback_crops: tuple[int, ...] = ()) -> None:
        for r in range(self.proxy.rowCount()):
            row = self.proxy.index(r, 0).data(RowRole)
            if row.key == key or set(fallback_crops) & set(row.crops):
                self.table.selectRow(r)
                return

    def _show_detail(self) -> None:
        row = self.current()
        self.message.setText("")
        for a in self.acts.values():
            a.setEnabled(row is not None)
        if row is None:
            self.title.setText(
                "<h3>No identity selected</h3>Identities appear when you decide “same” in Review."
            )
            self.notes.setText("")
            self.crops.set_items([])
            self.links.clear()
            return
        cov = " · ".join(f"{c} {n}" for c, n in sorted(row.cameras.items()))
        self.title.setText(f"<h3>{row.label}</h3>{len(row.crops)} crops · {cov}")
        self.notes.setText(row.notes or "<span style='color:#888'>No notes</span>")
        items = []
        for cid in sorted(row.crops, key=lambda c: (self._paths.get(c, ("", "", ""))[0], c)):
            cam, rel, path = self._paths.get(cid, ("?", "?", ""))
            items.append(CropItem(cid, cam, rel, path, 0, 0, "present"))
        self.crops.set_items(items)
        self.links.clear()
        for d in ident.links_within(self.ledger, row):
            a, b = self._paths.get(d.query_crop_id), self._paths.get(d.candidate_crop_id)
            it = QListWidgetItem(
                f"{self.crop_name(d.query_crop_id)}  ↔  {self.crop_name(d.candidate_crop_id)}   "
                f"({d.operator}, {d.created_at[:16].replace('T', ' ')})"
            )
            paths = (a[2] if a else "", b[2] if b else "")
            it.setIcon(_pair_icon(self.thumbnails, *paths))
            it.setData(Qt.UserRole, d.id)
            it.setData(Qt.UserRole + 1, paths)
            self.links.addItem(it)

    def _thumbnail_ready(self, path: str) -> None:
        for i in range(self.links.count()):
            it = self.links.item(i)
            paths = it.data(Qt.UserRole + 1)
            if paths and path in paths:
                it.setIcon(_pair_icon(self.thumbnails, *paths))

    def crop_name(self, crop_id: int) -> str:
        cam, rel, _ = self._paths.get(crop_id, ("?", f"crop {crop_id}", ""))
        return f"{cam}/{Path(rel).name}"

    # ---- edits ------------------------------------------------------------------------------------
    def rename(self, name: str | None = None) -> None:
        row = self.current()
        if row is None:
            return
        if name is None:
            # Start from what the operator sees as the name (the label), selected for typing over.
            name, ok = QInputDialog.getText(self, "Rename identity", "Name:", text=row.label)
            if not ok:
                return
            if name.strip() == row.label and not row.name:
                return  # kept the generated label: nothing to store
        self.undo_stack.push(_NameCommand(self, row, name, row.notes))

    def edit_notes(self, notes: str | None = None) -> None:
        row = self.current()
        if row is None:
            return
        if notes is None:
            notes, ok = QInputDialog.getMultiLineText(self, "Notes", f"Notes on {row.label}:", row.notes)
            if not ok:
                return
        self.undo_stack.push(_NameCommand(self, row, row.name, notes))

    def merge_dialog(self) -> MergeDialog | None:
        row = self.current()
        others = [r for r in self.model.rows() if r.key != row.key] if row else []
        if not others:
            self.message.setText("There is no other identity to merge with.")
            return None
        dlg = MergeDialog(row, others, self._first_paths(others), self.thumbnails, self)
        dlg.chosen.connect(self.merge_with)
        dlg.open()
        return dlg

    def _first_paths(self, rows: list[ident.IdentityRow]) -> dict[int, str]:
        return {r.key: self._paths.get(r.crops[0], ("", "", ""))[2] for r in rows}

    def merge_with(self, other: ident.IdentityRow) -> bool:
        row = self.current()
        try:
            action = ident.merge(self.ledger, row, other, self.operator, self.crop_name)
        except ValueError as exc:
            self.message.setText(f"Merge blocked: {exc}.")
            return False
        self._done(f"Merge {row.label} and {other.label}", action.id)
        return True

    def _done(self, text: str, action_id: int) -> None:
        """An edit was recorded: one undo step, and it says so (reloading clears the message)."""
        self.undo_stack.push(_ActionCommand(self, text, action_id))
        self.reload()
        self.message.setText(f"Done: {text} · Undo (Ctrl+Z)")

    def split_selected(self) -> None:
        ids = [i.data(CropIdRole) for i in self.grid.selectionModel().selectedIndexes()]
        row = self.current()
        if not ids or row is None:
            self.message.setText("Select the crops to split out first.")
            return
        action = ident.split_out(self.ledger, ids, self.operator, row.label)
        if action is None:
            self.reload()
            return
        crops = "1 crop" if len(ids) == 1 else f"{len(ids)} crops"
        self._done(f"Split {crops} from {row.label}", action.id)

    def delete_link(self) -> None:
        item = self.links.currentItem()
        if item is None:
            self.message.setText("Select a link to delete first.")
            return
        d = self.ledger.rows.get(item.data(Qt.UserRole))
        text = (
            f"Delete link {self.crop_name(d.query_crop_id)} ↔ {self.crop_name(d.candidate_crop_id)}"
            if d
            else "Delete link"
        )
        try:
            action = ident.unlink(self.ledger, item.data(Qt.UserRole), self.operator, text.lower())
        except ValueError as exc:  # changed elsewhere since the list was drawn
            self.message.setText(f"Not changed: {exc}.")
            self.reload()
            return
        self._done(text, action.id)


def _pair_icon(thumbnails: ThumbnailCache, a: str, b: str) -> QIcon:
    """Both crops of a link side by side, small (placeholders until their thumbnails load)."""
    pm = QPixmap(36, 36)
    pm.fill(Qt.transparent)
    p = QPainter(pm)
    for i, path in enumerate((a, b)):
        icon = (thumbnails.get(path) if path else None) or thumbnails.placeholder
        icon.paint(p, QRect(i * 18, 0, 17, 36))
    p.end()
    return QIcon(pm)
