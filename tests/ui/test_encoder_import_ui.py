"""Importing an encoder through the window: the form's preprocessing reaches the model's
metadata, the switch to the new encoder is asked for, and the Models tab shows what each
encoder expects."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from helpers.onnx_factory import small_cnn, tiny_encoder
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox

from reid_desktop.core.encoders.contract import IMAGENET_STD, EncoderInfo, Preprocess
from reid_desktop.core.encoders.registry import register_encoder
from reid_desktop.ui.encoders.import_dialog import ImportEncoderDialog
from reid_desktop.ui.encoders.view import PREPROCESS_COLUMN


def recorded(path: str | Path) -> Preprocess:
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    return EncoderInfo.from_metadata(meta).preprocess


def fill_and_accept(monkeypatch, **fields) -> None:
    """The next Import dialog is filled in as an operator would, then Import is pressed."""

    def exec_(dlg: ImportEncoderDialog) -> int:
        dlg.src.setText(str(fields["src"]))
        dlg.name.setText(fields["name"])
        dlg.colour.setCurrentText(fields.get("colour", "RGB"))
        dlg.scale.setCurrentIndex(fields.get("scale_index", 0))
        for name in ("mean", "std", "size"):  # the others keep what the dialog offers
            if name in fields:
                getattr(dlg, name).setText(fields[name])
        dlg.buttons.button(QDialogButtonBox.Ok).click()
        return dlg.result()

    monkeypatch.setattr(ImportEncoderDialog, "exec", exec_)


@pytest.fixture
def asked(monkeypatch):
    """Answers the 'use the imported model?' question; records that it was asked."""
    state = {"answer": QMessageBox.Yes, "asked": []}

    def question(parent, title, text, buttons, default):
        state["asked"].append((title, text, default))
        return state["answer"]

    monkeypatch.setattr(QMessageBox, "question", question)
    return state


def wait_idle(qtbot, w) -> None:
    qtbot.waitUntil(lambda: w.job is None, timeout=60_000)


@pytest.fixture
def scanned(qtbot, window, tmp_path, two_cameras):
    """The window with a project holding one camera's 12 crops (the importer probes on them)."""
    window.create_project(tmp_path / "p.reidproj")
    window.add_folders([str(two_cameras[0])], "folders")
    wait_idle(qtbot, window)
    return window


def test_import_dialog_writes_bgr_and_the_custom_mean_into_the_metadata(
    qtbot, scanned, tmp_path, monkeypatch, asked
):
    w = scanned
    src = small_cnn(tmp_path / "foreign.onnx")  # input fixed at 64×32; Size left blank
    fill_and_accept(monkeypatch, src=src, name="foreign", colour="BGR", scale_index=1, mean="104 117 123")
    w.encoder_actions.import_dialog()
    wait_idle(qtbot, w)
    encoder = w.project.encoders.by_name("foreign")
    assert encoder is not None
    p = recorded(encoder.file)
    assert (p.height, p.width, p.rgb, p.scale, p.mean) == (64, 32, False, 1.0, (104.0, 117.0, 123.0))
    assert p.std == pytest.approx([s * 255 for s in IMAGENET_STD[::-1]])  # left blank: the default
    assert asked["asked"] == []  # nothing was active: nothing to switch from, so no question
    assert w.project.active_encoder_id == encoder.id
    assert "it is now the active model" in w.banner.label.text()


def test_importing_asks_before_switching_and_no_keeps_the_active_model(
    qtbot, scanned, tmp_path, monkeypatch, asked
):
    w = scanned
    before = register_encoder(w.project, tiny_encoder(tmp_path / "a.onnx"), "a")
    w.show_tab("Models")
    asked["answer"] = QMessageBox.No
    fill_and_accept(monkeypatch, src=small_cnn(tmp_path / "b.onnx"), name="b")
    w.encoder_actions.import_dialog()
    wait_idle(qtbot, w)
    [(title, text, default)] = asked["asked"]
    assert default == QMessageBox.Yes and "Make b the active model instead of a?" in text
    assert w.project.active_encoder_id == before.id
    assert "the active model is still a" in w.banner.label.text()
    assert w.encoders_view.model.rowCount() == 2  # listed all the same

    asked["answer"] = QMessageBox.Yes
    fill_and_accept(monkeypatch, src=small_cnn(tmp_path / "c.onnx"), name="c")
    w.encoder_actions.import_dialog()
    wait_idle(qtbot, w)  # the import, then embedding what "c" lacks
    c = w.project.encoders.by_name("c")
    assert w.project.active_encoder_id == c.id and w.project.embeddings.count(c.id) == 12
    assert "it is now the active model" in w.banner.label.text()


def test_a_taken_name_is_refused_before_importing(qtbot, window, tmp_path, monkeypatch, asked):
    w = window
    w.create_project(tmp_path / "p.reidproj")
    register_encoder(w.project, tiny_encoder(tmp_path / "a.onnx"), "a")
    dialogs = keep_open(monkeypatch)
    w.encoder_actions.import_dialog()
    [dlg] = dialogs
    dlg.src.setText(str(small_cnn(tmp_path / "src.onnx")))
    dlg.name.setText("a")
    dlg.buttons.button(QDialogButtonBox.Ok).click()
    assert w.job is None and not (w.encoder_actions.encoders_dir() / "a.onnx").exists()
    assert "already has a model named a" in dlg.error.text() and dlg.isVisible()  # said in the form
    assert dlg.buttons.button(QDialogButtonBox.Ok).isEnabled()  # Import can be pressed again


def keep_open(monkeypatch) -> list[ImportEncoderDialog]:
    """The next Import dialogs are shown without blocking (a test then drives them)."""
    shown: list[ImportEncoderDialog] = []

    def exec_(dlg: ImportEncoderDialog) -> int:
        shown.append(dlg)
        dlg.show()
        return 0

    monkeypatch.setattr(ImportEncoderDialog, "exec", exec_)
    return shown


def test_the_name_follows_the_files_stem_until_the_operator_types_one(qtbot, tmp_path, monkeypatch):
    """Walkthrough: typing the path named the model after its first character ("w") for good."""
    dlg = ImportEncoderDialog()
    qtbot.addWidget(dlg)
    qtbot.keyClicks(dlg.src.edit, "/work/shared/models/intel-person-reid-retail-0267.onnx")
    assert dlg.name.text() == "intel-person-reid-retail-0267"
    dlg.src.setText("/elsewhere/osnet.onnx")  # pasted over
    assert dlg.name.text() == "osnet"
    monkeypatch.setattr(dlg.src, "_choose", lambda parent, current: "/m/browsed.onnx")  # the file chooser
    dlg.src.browse.click()
    assert dlg.name.text() == "browsed"
    dlg.name.selectAll()
    qtbot.keyClicks(dlg.name, "lobby")  # the operator's own name is kept from now on
    dlg.src.setText("/m/other.onnx")
    assert dlg.name.text() == "lobby"
    dlg.name.selectAll()
    qtbot.keyClick(dlg.name, Qt.Key_Backspace)  # they emptied it: follow the file again
    dlg.src.setText("/m/third.onnx")
    assert dlg.name.text() == "third"


def test_an_import_error_keeps_the_dialog_open_with_every_field(qtbot, scanned, tmp_path, monkeypatch, asked):
    w = scanned
    dialogs = keep_open(monkeypatch)
    w.encoder_actions.import_dialog()
    [dlg] = dialogs
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model at all")
    dlg.src.setText(str(broken))
    dlg.name.selectAll()
    qtbot.keyClicks(dlg.name, "lobby")  # typed: kept when the file changes
    dlg.colour.setCurrentText("BGR")
    dlg.mean.setText("104 117 123")
    dlg.buttons.button(QDialogButtonBox.Ok).click()
    wait_idle(qtbot, w)
    assert dlg.isVisible() and "not a valid ONNX model" in dlg.error.text()
    assert "\n" not in dlg.error.text() and not w.findChildren(QMessageBox)  # one line, in the form
    assert (dlg.name.text(), dlg.colour.currentText(), dlg.mean.text()) == ("lobby", "BGR", "104 117 123")
    assert w.project.encoders.by_name("lobby") is None
    dlg.src.setText(str(small_cnn(tmp_path / "good.onnx")))  # fix only the file, press Import again
    assert dlg.name.text() == "lobby"
    dlg.buttons.button(QDialogButtonBox.Ok).click()
    wait_idle(qtbot, w)
    assert w.project.encoders.by_name("lobby") is not None and dlg.result() and not dlg.isVisible()


def test_f2_renames_a_model_and_a_taken_name_is_refused(qtbot, scanned, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    w = scanned
    a = register_encoder(w.project, tiny_encoder(tmp_path / "a.onnx"), "w")
    register_encoder(w.project, tiny_encoder(tmp_path / "b.onnx"), "osnet")
    w.show_tab("Models")
    view = w.encoders_view
    view.table.selectRow(0)
    view.table.setFocus()
    answers = iter([("intel-0267", True), ("osnet", True)])
    monkeypatch.setattr(QInputDialog, "getText", lambda *args, **kw: next(answers))
    qtbot.keyClick(view.table, Qt.Key_F2)
    assert w.project.encoders.get(a.id).name == "intel-0267"
    assert view.model.data(view.model.index(0, 1)) == "intel-0267"
    assert view.table.currentIndex().row() == 0  # the refresh kept the selection
    view.table.selectRow(0)
    qtbot.keyClick(view.table, Qt.Key_F2)
    assert w.project.encoders.get(a.id).name == "intel-0267"  # refused
    [box] = w.findChildren(QMessageBox)
    assert "already has a model named osnet" in box.text()


def test_activating_the_active_model_says_so_and_does_nothing(qtbot, scanned, tmp_path):
    w = scanned
    a = register_encoder(w.project, tiny_encoder(tmp_path / "a.onnx"), "a")
    w.project.set_active_encoder(a.id)
    fired: list[int] = []
    w.encoder_actions.activated.connect(fired.append)
    w.show_tab("Models")
    w.encoders_view.table.selectRow(0)
    w.encoder_actions.activate(a.id)
    assert fired == [] and w.job is None
    assert w.statusBar().currentMessage() == "a is already the active model."


def test_the_models_table_catches_up_when_an_embedding_job_finishes(qtbot, scanned, tmp_path):
    w = scanned
    a = register_encoder(w.project, tiny_encoder(tmp_path / "a.onnx"), "a")
    w.show_tab("Models")
    model = w.encoders_view.model
    assert model.data(model.index(0, 2)) == "0 / 12"
    w.encoder_actions.embed(a.id)  # Embed missing crops, with the tab open
    wait_idle(qtbot, w)
    assert model.data(model.index(0, 2)) == "12 / 12"


def test_import_dialog_labels_follow_the_colour_order_and_fit_a_small_screen(qtbot):
    dlg = ImportEncoderDialog()
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.width() <= 700
    assert dlg.mean_label.text() == "Mean (R G B):" and dlg.mean.placeholderText().endswith(
        "0.485 0.456 0.406"
    )
    dlg.colour.setCurrentText("BGR")
    assert (dlg.mean_label.text(), dlg.std_label.text()) == ("Mean (B G R):", "Std (B G R):")
    assert dlg.mean.placeholderText().endswith("0.406 0.456 0.485")
    dlg.scale.setCurrentIndex(1)  # raw pixels: the defaults scale with it
    assert dlg.std.placeholderText().endswith("57.375 57.12 58.395")
    dlg.mean.setText("1 2")
    dlg.src.setText(__file__)
    dlg.name.setText("x")
    dlg.buttons.button(QDialogButtonBox.Ok).click()
    assert not dlg.result() and "Mean needs three numbers" in dlg.error.text()


def test_models_tab_shows_each_encoders_preprocessing(qtbot, window, tmp_path, two_cameras):
    w = window
    w.create_project(tmp_path / "p.reidproj")
    register_encoder(w.project, tiny_encoder(tmp_path / "a.onnx"), "a")
    w.show_tab("Models")
    model = w.encoders_view.model
    assert model.headerData(PREPROCESS_COLUMN, Qt.Horizontal) == "Preprocessing"
    text = model.data(model.index(0, PREPROCESS_COLUMN))
    assert text == "RGB 64×32, pixels ÷ 255, mean 0.485 0.456 0.406, std 0.229 0.224 0.225"


def test_a_fine_tuned_encoder_is_registered_active_and_linked_to_its_run(qtbot, window, tmp_path):
    w = window
    w.create_project(tmp_path / "p.reidproj")
    w.encoder_actions.fine_tune()
    dlg = w.encoder_actions.dialog
    dlg.run_id = w.project.training_runs.start("baseline", {}).id  # as Start does
    (tmp_path / "run1").mkdir()
    trained = tiny_encoder(tmp_path / "run1" / "encoder.onnx")
    dlg.modelReady.emit(str(trained))  # "Activate & re-score"
    encoder = w.project.encoders.by_name("ft-run1")
    assert w.project.active_encoder_id == encoder.id
    assert w.project.training_runs.get(dlg.run_id).encoder_id == encoder.id
    dlg.close()
