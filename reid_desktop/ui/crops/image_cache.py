"""Full-size crops for the pair view: decoded once, kept in a small LRU, prefetched off-thread."""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage

from reid_desktop.core.imaging import BadImage, load_rgb


def decode_qimage(path: str) -> QImage:
    """An RGB QImage of a crop (null image when it cannot be read)."""
    try:
        img = load_rgb(path)
    except (BadImage, OSError):
        return QImage()
    return QImage(img.tobytes(), img.width, img.height, 3 * img.width, QImage.Format_RGB888).copy()


class _Signals(QObject):
    loaded = Signal(str, QImage)


class _Prefetch(QRunnable):
    def __init__(self, path: str, signals: _Signals) -> None:
        super().__init__()
        self.path, self.signals = path, signals

    def run(self) -> None:
        self.signals.loaded.emit(self.path, decode_qimage(self.path))


class ImageCache(QObject):
    def __init__(self, capacity: int = 256, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.capacity = capacity
        self._items: OrderedDict[str, QImage] = OrderedDict()
        self._pending: set[str] = set()
        self._signals = _Signals()
        self._signals.loaded.connect(self._store)

    def get(self, path: str) -> QImage:
        """The image now (decoding on this thread if it was not prefetched; crops are small)."""
        img = self._items.get(path)
        if img is None:
            img = decode_qimage(path)
            self._store(path, img)
        else:
            self._items.move_to_end(path)
        return img

    def prefetch(self, paths: list[str]) -> None:
        for p in paths:
            if p not in self._items and p not in self._pending:
                self._pending.add(p)
                QThreadPool.globalInstance().start(_Prefetch(p, self._signals))

    def _store(self, path: str, img: QImage) -> None:
        self._pending.discard(path)
        self._items[path] = img
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)
