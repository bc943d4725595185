"""Follows a `reid-train` run from its JSON-lines events (Qt-free; the dialog draws from it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from reid_desktop.core.training.events import Event, EventError, parse_line


@dataclass
class TrainingMonitor:
    minutes: float | None = None
    epochs: int | None = None
    plan: Event | None = None  # the plan the run follows (the dialog showed the same)
    start: Event | None = None
    losses: list[tuple[float, float]] = field(default_factory=list)  # (t seconds, loss)
    steps: list[tuple[int, int, int, float]] = field(default_factory=list)  # (epoch, step, steps, loss)
    evals: list[dict] = field(default_factory=list)  # eval events' data, epoch 0 first
    last_t: float = 0.0
    eta_seconds: float | None = None
    epoch: int = 0
    done: Event | None = None
    error: str | None = None
    cancelled: bool = False
    malformed: int = 0
    _buffer: str = ""

    def feed(self, chunk: str) -> list[Event]:
        """Feed raw stdout text (may hold partial lines); returns the complete events parsed."""
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split("\n")
        out = []
        for line in lines:
            try:
                ev = parse_line(line)
            except EventError:
                self.malformed += 1
                continue
            if ev is not None:
                self.apply(ev)
                out.append(ev)
        return out

    def apply(self, ev: Event) -> None:
        self.last_t = max(self.last_t, ev.t)
        if ev.type == "plan":
            self.plan = ev
        elif ev.type == "start":
            self.start = ev
            self.minutes = ev.get("minutes", self.minutes)
            self.epochs = ev.get("epochs", self.epochs)
        elif ev.type == "step":
            self.losses.append((ev.t, float(ev["loss"])))
            self.steps.append(
                (int(ev["epoch"]), int(ev["step"]), int(ev.get("steps") or 0), float(ev["loss"]))
            )
        elif ev.type == "eval":
            self.evals.append(dict(ev.data, _t=ev.t))
        elif ev.type == "epoch":
            self.epoch = int(ev["epoch"])
            self.eta_seconds = ev.get("eta_seconds")
        elif ev.type == "done":
            self.done = ev
        elif ev.type == "error":
            self.error = str(ev["message"])
            self.cancelled = bool(ev.get("cancelled", False))

    @property
    def finished(self) -> bool:
        return self.done is not None or self.error is not None

    def fraction(self) -> float:
        """0..1 progress: by time with a minute budget, else by epochs."""
        if self.done is not None:
            return 1.0
        if self.minutes:
            return min(1.0, self.last_t / (self.minutes * 60))
        if self.epochs:
            return min(1.0, self.epoch / self.epochs)
        return 0.0

    @property
    def before(self) -> dict | None:
        return self.evals[0] if self.evals else None

    @property
    def best(self) -> dict | None:
        return max(self.evals[1:], key=lambda e: e["mAP"]) if len(self.evals) > 1 else None
