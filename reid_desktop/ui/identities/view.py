"""The identities screen: list with camera coverage, crops grouped by camera, and undoable
rename / notes / merge / split / delete-link. Every change is a decision or a name row."""

from __future__ import annotations

from PySide6.QtCore import QSize, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QUndoCommand, QUndoStack
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
from reid_desktop.store import Project, default_operator
from reid_desktop.ui.crops.crop_model import CropIdRole, CropItem, CropListModel
from reid_desktop.ui.crops.thumbnails import ThumbnailCache
from reid_desktop.ui.identities.identity_model import IdentityTableModel, RowRole


class _DecisionsCommand(QUndoCommand):
    """Undo = void the rows this edit made effective; redo = void those undo rows (audit-safe)."""

    def __init__(self, view: IdentitiesView, text: str, rows: list[int]) -> None:
        super().__init__(text)
        self.view, self.rows, self.first = view, rows, True

    def _flip(self) -> None:
        p = self.view.project
        with p.write():  # all rows of the edit flip together
            self.rows = [self._toggle(p, r) for r in self.rows]
        self.view.reload()

    def _toggle(self, p, row_id: int) -> int:
        """Void the newest row of the chain (another screen may have undone ours meanwhile)."""
        last = row_id
        while (nxt := p.decisions.voided_by(last)) is not None:
            last = nxt
        return p.decisions.undo(last, operator=self.view.operator).id

    def redo(self) -> None:
        if self.first:  # the edit itself was applied before the command was pushed
            self.first = False
            return
        self._flip()

    def undo(self) -> None:
        self._flip()


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
        self._active = []  # decisions in force, read once per reload
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
        self.links.setMaximumHeight(120)

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
        self.undo_stack.clear()
        self.reload()

    def reload(self) -> None:
        keep = self.current()
        self._active = self.project.decisions.active() if self.project else []  # read once per reload
        rows = ident.identity_rows(self.project, self._active) if self.project else []
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
        for d in ident.links_within(self.project, row, self._active):
            it = QListWidgetItem(
                f"crop {d.query_crop_id} ↔ crop {d.candidate_crop_id}   "
                f"({d.operator}, {d.created_at[:16].replace('T', ' ')})"
            )
            it.setData(Qt.UserRole, d.id)
            self.links.addItem(it)

    # ---- edits ------------------------------------------------------------------------------------
    def rename(self, name: str | None = None) -> None:
        row = self.current()
        if row is None:
            return
        if name is None:
            name, ok = QInputDialog.getText(self, "Rename identity", "Name:", text=row.name)
            if not ok:
                return
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

    def merge_dialog(self) -> None:
        row = self.current()
        others = [r for r in self.model.rows() if r.key != row.key] if row else []
        if not others:
            return
        labels = [f"{r.label} ({len(r.crops)} crops, #{r.key})" for r in others]  # unique
        choice, ok = QInputDialog.getItem(
            self, "Merge identities", f"Merge {row.label} with:", labels, 0, False
        )
        if ok:
            self.merge_with(others[labels.index(choice)])

    def merge_with(self, other: ident.IdentityRow) -> bool:
        row = self.current()
        try:
            d = ident.merge(self.project, row, other, self.operator)
        except ValueError as exc:
            self.message.setText(f"Merge blocked: {exc}.")
            return False
        self.undo_stack.push(_DecisionsCommand(self, f"Merge {row.label} and {other.label}", [d.id]))
        self.reload()
        return True

    def split_selected(self) -> None:
        ids = [i.data(CropIdRole) for i in self.grid.selectionModel().selectedIndexes()]
        if not ids:
            self.message.setText("Select the crops to split out first.")
            return
        undo_rows = ident.split_out(self.project, ids, self.operator)
        if undo_rows:
            self.undo_stack.push(
                _DecisionsCommand(self, f"Split {len(ids)} crop(s)", [u.id for u in undo_rows])
            )
        self.reload()

    def delete_link(self) -> None:
        item = self.links.currentItem()
        if item is None:
            self.message.setText("Select a link to delete first.")
            return
        try:
            u = self.project.decisions.void(item.data(Qt.UserRole), operator=self.operator)
        except ValueError as exc:  # changed elsewhere since the list was drawn
            self.message.setText(f"Not changed: {exc}.")
            self.reload()
            return
        self.undo_stack.push(_DecisionsCommand(self, "Delete link", [u.id]))
        self.reload()
