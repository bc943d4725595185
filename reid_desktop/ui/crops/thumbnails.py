"""Thumbnails decoded off the GUI thread, newest request first, kept in an LRU cache."""

from __future__ import annotations

import itertools
import logging
from collections import OrderedDict

from PIL import Image
from PySide6.QtCore import QObject, QRunnable, QSize, QThreadPool, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap

from reid_desktop.core.imaging import BadImage, load_rgb

log = logging.getLogger(__name__)


class _Signals(QObject):
    # A null image means the decode failed. (No bool argument: emitting Python bools from many
    # threads tripped a refcount bug in PySide6 6.12.)
    loaded = Signal(str, QImage)


class _Load(QRunnable):
    def __init__(self, path: str, size: QSize, signals: _Signals) -> None:
        super().__init__()
        self.path, self.size, self.signals = path, size, signals

    def run(self) -> None:
        try:
            img = load_rgb(self.path)
            # Fit the box both ways: crops are often smaller than the icon and must not look tiny.
            scale = min(self.size.width() / img.width, self.size.height() / img.height)
            target = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
            img = img.resize(target, Image.Resampling.BICUBIC if scale > 1 else Image.Resampling.LANCZOS)
            data = img.tobytes()
            q = QImage(data, img.width, img.height, 3 * img.width, QImage.Format_RGB888).copy()
            self.signals.loaded.emit(self.path, q)
        except (BadImage, OSError, ValueError) as exc:
            log.debug("thumbnail of %s failed: %s", self.path, exc)
            self.signals.loaded.emit(self.path, QImage())


class ThumbnailCache(QObject):
    """`get(path)` returns an icon or None and schedules the decode; `ready(path)` follows.

    Icons (not pixmaps) so views scale them to their icon size instead of drawing them raw.
    """

    ready = Signal(str)

    def __init__(
        self,
        size: QSize = QSize(128, 256),
        capacity_bytes: int = 192 * 2**20,
        pool: QThreadPool | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.size = size
        self.capacity_bytes = capacity_bytes
        self._bytes = 0
        self._cache: OrderedDict[str, QIcon] = OrderedDict()
        self._cost: dict[str, int] = {}
        self._pending: set[str] = set()
        self._failed: set[str] = set()
        self._pool = pool or QThreadPool(self)
        if pool is None:
            self._pool.setMaxThreadCount(max(2, QThreadPool.globalInstance().maxThreadCount() - 1))
        self._priority = itertools.count()
        self._signals = _Signals()
        self._signals.loaded.connect(self._on_loaded)
        self.placeholder = self._make_placeholder(QColor("#3a3f47"))
        self.broken = self._make_placeholder(QColor("#6b2b2b"), cross=True)

    def _make_placeholder(self, colour: QColor, cross: bool = False) -> QIcon:
        pm = QPixmap(self.size.width(), self.size.height())
        pm.fill(colour)
        if cross:
            p = QPainter(pm)
            p.setPen(QColor("#e0a0a0"))
            p.drawLine(0, 0, pm.width(), pm.height())
            p.drawLine(pm.width(), 0, 0, pm.height())
            p.end()
        return QIcon(pm)

    def get(self, path: str) -> QIcon | None:
        pm = self._cache.get(path)
        if pm is not None:
            self._cache.move_to_end(path)
            return pm
        if path in self._failed:
            return self.broken
        if path not in self._pending:
            self._pending.add(path)
            # Later requests (what the user scrolled to) outrank earlier ones still queued.
            prio = next(self._priority) % (2**31 - 1)
            self._pool.start(_Load(path, self.size, self._signals), prio)
        return None

    def _on_loaded(self, path: str, image: QImage) -> None:
        self._pending.discard(path)
        if image.isNull():
            self._failed.add(path)
        else:
            self._cache[path] = QIcon(QPixmap.fromImage(image))
            self._cost[path] = image.sizeInBytes()
            self._bytes += self._cost[path]
            while self._bytes > self.capacity_bytes and len(self._cache) > 1:
                old, _ = self._cache.popitem(last=False)
                self._bytes -= self._cost.pop(old, 0)
        self.ready.emit(path)

    def pending(self) -> int:
        return len(self._pending)

    def clear(self) -> None:
        self._pool.clear()  # drop queued decodes of a project that is closing
        self._cache.clear()
        self._cost.clear()
        self._bytes = 0
        self._failed.clear()
        self._pending.clear()

    def wait(self, msecs: int = 5000) -> bool:
        return self._pool.waitForDone(msecs)
