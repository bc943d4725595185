"""The main window's actions and menus (File, Cameras, Models, View, Help)."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence

from reid_desktop.ui.common.messages import guarded

# Actions that need an open project; BUSY_BLOCKED ones also wait for the running job.
PROJECT_ACTIONS = (
    "act_close",
    "act_add",
    "act_rescan",
    "act_relink",
    "act_skipped",
    "act_filter",
    "act_zoom_in",
    "act_zoom_out",
    "act_export",
    "act_import",
    "act_finetune",
    "act_review",
    "act_report",
    "act_compare",
    "act_runs",
    "act_map",
)
BUSY_BLOCKED = ("act_add", "act_rescan", "act_relink", "act_close")


def _keys(*specs) -> list[QKeySequence]:
    """Shortcuts, first the one the help and README name, then the platform's own (which
    may differ: Close is Ctrl+F4 on some, Zoom In is Ctrl++ though Ctrl+= needs no Shift)."""
    keys: list[QKeySequence] = []
    for spec in specs:
        found = QKeySequence.keyBindings(spec) if isinstance(spec, QKeySequence.StandardKey) else [spec]
        keys += [QKeySequence(k) for k in found]
    return list(dict.fromkeys(k for k in keys if not k.isEmpty()))


def _action(w, text: str, slot, shortcut=(), tip: str = "", screen: str = "") -> QAction:
    act = QAction(text, w)
    act.setShortcuts(_keys(*(shortcut if isinstance(shortcut, tuple) else (shortcut,))))
    act.setStatusTip(tip)
    if screen:
        act.setProperty("screen", screen)  # grouped under that screen in the help (F1)
    # triggered(bool) would pass Qt's checked flag to slots that take an optional argument.
    act.triggered.connect(guarded(lambda: w, text.replace("&", "").rstrip("…"), lambda *_: slot()))
    return act


def build_menus(w) -> None:
    w.act_new = _action(w, "&New Project…", w.new_project_dialog, QKeySequence.New)
    w.act_open = _action(w, "&Open Project…", w.open_project_dialog, QKeySequence.Open)
    w.act_close = _action(w, "&Close Project", w.close_project, ("Ctrl+W", QKeySequence.Close))
    w.act_quit = _action(w, "&Quit", w.close, ("Ctrl+Q", QKeySequence.Quit))
    w.act_add = _action(
        w,
        "&Add Camera Folders…",
        w.add_folders_dialog,
        "Ctrl+Shift+A",
        "Scan one folder per camera, or a Market-1501 folder",
    )
    w.act_rescan = _action(
        w, "&Re-scan All Folders", w.rescan, "F5", "Pick up new files and report missing ones"
    )
    w.act_relink = _action(w, "Re&link Moved Folder…", w.relink_dialog)
    w.act_skipped = _action(w, "&Skipped Files…", w.show_skipped, "Ctrl+Shift+K")
    crops = "Crops"
    w.act_filter = _action(
        w, "&Find Crop", lambda: w.browser.filter.setFocus(), ("Ctrl+F", QKeySequence.Find), screen=crops
    )
    w.act_zoom_in = _action(
        w, "Larger Thumbnails", lambda: w.browser.zoom_by(16), ("Ctrl+=", QKeySequence.ZoomIn), screen=crops
    )
    w.act_zoom_out = _action(
        w,
        "Smaller Thumbnails",
        lambda: w.browser.zoom_by(-16),
        ("Ctrl+-", QKeySequence.ZoomOut),
        screen=crops,
    )
    w.act_export = _action(
        w, "&Export Identities (Market-1501)…", lambda: w.export_actions.open_dialog(), "Ctrl+E"
    )
    w.act_import = _action(w, "&Import Model…", lambda: w.encoder_actions.import_dialog())
    w.act_finetune = _action(w, "&Fine-tune…", lambda: w.encoder_actions.fine_tune(), "Ctrl+T")
    w.act_review = _action(w, "&Review", lambda: w.show_tab("Review"), "Ctrl+2")
    w.act_report = _action(w, "Model &Report…", lambda: w.report_actions.report(), "Ctrl+R")
    w.act_compare = _action(w, "&Compare Models…", lambda: w.report_actions.compare())
    w.act_runs = _action(w, "Training R&uns…", lambda: w.report_actions.runs())
    w.act_map = _action(w, "Embedding &Map", lambda: w.show_tab("Map"), "Ctrl+5")
    w.act_shortcuts = _action(w, "&Keyboard Shortcuts", lambda: w.show_help(1), "F1")
    w.act_howto = _action(w, "&How to Work", lambda: w.show_help(0))
    w.act_about = _action(w, "&About reid-desktop", w.show_about)

    mb = w.menuBar()
    m = mb.addMenu("&File")
    m.addActions([w.act_new, w.act_open])
    w.recent_menu = m.addMenu("Open &Recent")
    w.recent_menu.aboutToShow.connect(lambda: fill_recent_menu(w))
    m.addSeparator()
    m.addAction(w.act_export)
    m.addSeparator()
    m.addAction(w.act_close)
    m.addSeparator()
    m.addAction(w.act_quit)
    m = mb.addMenu("&Cameras")
    m.addActions([w.act_add, w.act_rescan, w.act_relink])
    m.addSeparator()
    m.addAction(w.act_skipped)
    m = mb.addMenu("&Models")
    m.addActions([w.act_import, w.act_finetune])
    m.addSeparator()
    m.addActions([w.act_report, w.act_compare, w.act_runs])
    m = mb.addMenu("&View")
    m.addActions([w.act_review, w.act_map, w.act_filter, w.act_zoom_in, w.act_zoom_out])
    m = mb.addMenu("&Help")
    m.addActions([w.act_howto, w.act_shortcuts, w.act_about])


def fill_recent_menu(w) -> None:
    w.recent_menu.clear()
    paths = w.recent.existing()
    for p in paths:
        w.recent_menu.addAction(p, lambda p=p: w.open_project(p))
    if not paths:
        w.recent_menu.addAction("(none)").setEnabled(False)
