"""Import a foreign ONNX re-ID model: choose the file and its preprocessing (form), then the
engine's importer checks it on the project's own crops."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from reid_desktop.core.encoders.contract import IMAGENET_MEAN, IMAGENET_STD, ContractError, Preprocess


class ImportEncoderDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import model")
        self.src = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.src, 1)
        row.addWidget(browse)
        self.name = QLineEdit()
        self.colour = QComboBox()
        self.colour.addItems(["RGB", "BGR"])
        self.scale = QComboBox()
        self.scale.addItem("0–1 (pixels ÷ 255)", 255.0)
        self.scale.addItem("0–255 (raw pixels)", 1.0)
        self.scale.currentIndexChanged.connect(self._default_stats)
        self.mean = QLineEdit()
        self.std = QLineEdit()
        self.size = QLineEdit(placeholderText="from the model, e.g. 256x128")
        self.error = QLabel()
        self.error.setStyleSheet("color: #a00;")
        self.error.setWordWrap(True)
        self._default_stats()
        form = QFormLayout(self)
        form.addRow(
            QLabel(
                "The importer exposes the model's feature map for stripe heatmaps, makes its "
                "batch dynamic when it can, records the preprocessing below and checks the "
                "outputs on this project's crops."
            )
        )
        form.addRow("ONNX file:", row)
        form.addRow("Name:", self.name)
        form.addRow("Colour order:", self.colour)
        form.addRow("Input range:", self.scale)
        form.addRow("Mean (R G B):", self.mean)
        form.addRow("Std (R G B):", self.std)
        form.addRow("Input size (H×W):", self.size)
        form.addRow(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Import")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _default_stats(self) -> None:
        k = 1.0 if self.scale.currentData() == 255.0 else 255.0
        self.mean.setText(" ".join(f"{m * k:g}" for m in IMAGENET_MEAN))
        self.std.setText(" ".join(f"{s * k:g}" for s in IMAGENET_STD))

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "ONNX model", "", "ONNX models (*.onnx)")
        if path:
            self.src.setText(path)
            if not self.name.text():
                self.name.setText(Path(path).stem)

    def preprocess(self) -> Preprocess | None:
        """None when the size is left empty and the defaults are kept (the importer reads the size)."""
        mean = tuple(float(x) for x in self.mean.text().split())
        std = tuple(float(x) for x in self.std.text().split())
        size = self.size.text().lower().replace("×", "x").strip()
        h, w = (int(v) for v in size.split("x")) if size else (256, 128)
        p = Preprocess(
            height=h,
            width=w,
            rgb=self.colour.currentText() == "RGB",
            scale=float(self.scale.currentData()),
            mean=mean,
            std=std,
        )
        p.validate()
        return p if size else p

    def _accept(self) -> None:
        try:
            if not Path(self.src.text()).is_file():
                raise ContractError("choose an existing ONNX file")
            if not self.name.text().strip():
                raise ContractError("give the model a name")
            self.preprocess()
        except (ValueError, ContractError) as exc:
            self.error.setText(str(exc))
            return
        self.accept()
