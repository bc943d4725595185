"""Import a foreign ONNX re-ID encoder: choose the file and state its preprocessing (a form),
then the importer checks it on the project's own crops. The dialog stays open until the import
succeeds: a refusal is shown in it, one line, with every field kept.

The form states only what the operator fills in; blank fields are resolved by the core
(`resolve_preprocess`): the model's own input size, ImageNet's mean/std in the chosen channel
order and scale. The placeholders show those defaults."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from reid_desktop.core.encoders.contract import ContractError
from reid_desktop.core.encoders.preprocess_options import (
    SCALES,
    PreprocessOptions,
    channel_names,
    default_stats,
    parse_size,
    parse_triple,
    resolve_preprocess,
)
from reid_desktop.ui.common.forms import PathField, error_label

SCALE_LABELS = {255.0: "0–1 (pixels ÷ 255)", 1.0: "0–255 (raw pixels)"}
WIDTH = 560  # px: wide enough for the form, narrow enough for a 1366×768 screen


def _choose_onnx(parent: QWidget, current: str) -> str:
    path, _ = QFileDialog.getOpenFileName(parent, "ONNX encoder", current, "ONNX models (*.onnx)")
    return path


class ImportEncoderDialog(QDialog):
    # The form is readable: import it. Whoever imports calls accept() on success, or show_error().
    importRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import model")
        self.src = PathField(_choose_onnx, max_width=WIDTH - 200)
        self.name = QLineEdit()
        # The name follows the file's stem until the operator types a name of their own
        # (textEdited: only their typing, never our own setText).
        self.name_edited = False
        self.name.textEdited.connect(lambda text: setattr(self, "name_edited", bool(text.strip())))
        self.src.textChanged.connect(self._suggest_name)
        self.colour = QComboBox()
        self.colour.addItems(["RGB", "BGR"])
        self.scale = QComboBox()
        for s in SCALES:
            self.scale.addItem(SCALE_LABELS[s], s)
        self.mean = QLineEdit()
        self.std = QLineEdit()
        self.mean_label, self.std_label = QLabel(), QLabel()
        self.size = QLineEdit(placeholderText="from the model, e.g. 256x128")
        self.error = error_label()
        self.colour.currentIndexChanged.connect(self._show_defaults)
        self.scale.currentIndexChanged.connect(self._show_defaults)
        self._show_defaults()
        intro = QLabel(
            "The importer exposes the model's feature map for stripe heatmaps, makes its batch "
            "dynamic when it can, records the preprocessing below and checks the outputs on this "
            "project's crops. Leave a field blank to use the default shown in it."
        )
        intro.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow(intro)
        form.addRow("ONNX file:", self.src)
        form.addRow("Name:", self.name)
        form.addRow("Colour order:", self.colour)
        form.addRow("Input range:", self.scale)
        form.addRow(self.mean_label, self.mean)
        form.addRow(self.std_label, self.std)
        form.addRow("Input size (H×W):", self.size)
        form.addRow(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Import")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        form.addRow(buttons)
        self.setFixedWidth(WIDTH)

    def _rgb(self) -> bool:
        return self.colour.currentText() == "RGB"

    def _show_defaults(self) -> None:
        """Labels name the channels in the chosen order; placeholders show what blank means."""
        channels = channel_names(self._rgb())
        self.mean_label.setText(f"Mean ({channels}):")
        self.std_label.setText(f"Std ({channels}):")
        mean, std = default_stats(self._rgb(), float(self.scale.currentData()))
        self.mean.setPlaceholderText("ImageNet: " + " ".join(f"{v:g}" for v in mean))
        self.std.setPlaceholderText("ImageNet: " + " ".join(f"{v:g}" for v in std))

    def _suggest_name(self, path: str) -> None:
        if not self.name_edited:
            self.name.setText(Path(path.strip()).stem if path.strip() else "")

    def show_error(self, text: str) -> None:
        """Why the import did not happen; the form stays as filled in, Import can be pressed again."""
        self.error.setText(text)
        self.buttons.button(QDialogButtonBox.Ok).setEnabled(True)

    def options(self) -> PreprocessOptions:
        """What the form states (raises ValueError naming the field that is not readable)."""
        return PreprocessOptions(
            rgb=self._rgb(),
            scale=float(self.scale.currentData()),
            mean=parse_triple(self.mean.text(), "Mean"),
            std=parse_triple(self.std.text(), "Std"),
            size=parse_size(self.size.text()),
        )

    def _accept(self) -> None:
        try:
            if not Path(self.src.text()).is_file():
                raise ContractError("choose an existing ONNX file")
            if not self.name.text().strip():
                raise ContractError("give the model a name")
            resolve_preprocess(self.options())  # plausible values; the model is checked on import
        except (ValueError, ContractError) as exc:
            self.show_error(str(exc))
            return
        self.error.setText("")
        self.buttons.button(QDialogButtonBox.Ok).setEnabled(False)  # one import at a time
        self.importRequested.emit()
