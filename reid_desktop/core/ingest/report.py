"""What a scan tells the user: per-source counts, refused files, folder errors and warnings.

Every line is printable as one line: names from disk (camera folders, paths) go through
`display_name`, so a folder called "cam\\n1" cannot split a report line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reid_desktop.core.ingest.walk import Refused
from reid_desktop.core.names import display_name


@dataclass
class ScanReport:
    root: str
    layout: str
    cameras: list[str] = field(default_factory=list)
    listed: int = 0
    added: int = 0
    unchanged: int = 0
    updated: int = 0
    returned: int = 0
    moved: int = 0
    missing: list[str] = field(default_factory=list)
    skipped: list[Refused] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0


@dataclass
class IngestReport:
    sources: list[ScanReport] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # folders that could not be scanned at all
    # Problems that cost no crop, e.g. a ground_truth.csv that was refused (no label applied).
    warnings: list[str] = field(default_factory=list)
    # Refused entries of a chosen folder that is not itself a camera: (folder, refused), such as
    # a hidden sub-folder of a folder of camera folders.
    folder_skipped: list[tuple[str, Refused]] = field(default_factory=list)
    cancelled: bool = False

    @property
    def added(self) -> int:
        return sum(s.added for s in self.sources)

    @property
    def skipped(self) -> list[tuple[str, Refused]]:
        return self.folder_skipped + [(s.root, r) for s in self.sources for r in s.skipped]

    def lines(self) -> list[str]:
        out = []
        for s in self.sources:
            state = " (cancelled; scan again to finish)" if s.cancelled else ""
            cams = ", ".join(display_name(c) for c in s.cameras) or "no camera"
            out.append(
                f"{display_name(s.root)} [{s.layout}: {cams}]: {s.added} added, "
                f"{s.unchanged} unchanged, {s.updated} updated, {s.returned} back, {s.moved} moved, "
                f"{len(s.missing)} missing, {len(s.skipped)} skipped in {s.seconds:.1f}s{state}"
            )
        out += [f"error: {display_name(e)}" for e in self.errors]
        out += [f"warning: {display_name(w)}" for w in self.warnings]
        return out
