"""The SQLite project file (.reidproj): schema, migrations and typed accessors. No Qt here."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from pathlib import Path

from reid_desktop.store.cameras import CameraRepo, CropRepo, SkippedRepo
from reid_desktop.store.decisions import DecisionRepo, IdentityRepo, TrainingRunRepo
from reid_desktop.store.encoders import EmbeddingRepo, EncoderRepo
from reid_desktop.store.errors import (
    DiskFullError,
    NotAProjectError,
    ProjectError,
    ProjectExistsError,
    ReadOnlyProjectError,
    SchemaTooNewError,
)
from reid_desktop.store.meta import MetaRepo
from reid_desktop.store.project import SUFFIX, Connection, open_connection, utc_now
from reid_desktop.store.records import (
    Action,
    Camera,
    CameraStats,
    Crop,
    Decision,
    EncoderRecord,
    Identity,
    SkippedFile,
    TrainingRun,
)
from reid_desktop.store.review_cache import ReviewCacheRepo
from reid_desktop.store.schema import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "Action",
    "SUFFIX",
    "Camera",
    "CameraStats",
    "Crop",
    "Decision",
    "DiskFullError",
    "Identity",
    "EncoderRecord",
    "NotAProjectError",
    "Project",
    "ProjectError",
    "ProjectExistsError",
    "ProjectSummary",
    "ReadOnlyProjectError",
    "SchemaTooNewError",
    "SkippedFile",
    "TrainingRun",
    "default_operator",
    "utc_now",
]


def default_operator() -> str:
    try:
        return os.environ.get("REID_OPERATOR") or getpass.getuser()
    except (KeyError, OSError):
        return "operator"


@dataclass(frozen=True)
class ProjectSummary:
    cameras: list[CameraStats]
    encoders: int
    embeddings: int
    decisions: int
    decisions_total: int
    named_identities: int  # rows of the identities table; identities themselves live in core
    skipped: int

    @property
    def crops(self) -> int:
        return sum(c.present for c in self.cameras)


class Project:
    """An open project file. Use `Project.create(path)` or `Project.open(path)`."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.path: Path = conn.path
        self.cameras = CameraRepo(conn)
        self.crops = CropRepo(conn)
        self.skipped = SkippedRepo(conn)
        self.encoders = EncoderRepo(conn)
        self.embeddings = EmbeddingRepo(conn)
        self.decisions = DecisionRepo(conn)
        self.identities = IdentityRepo(conn)
        self.training_runs = TrainingRunRepo(conn)
        self.meta = MetaRepo(conn)
        self.review_cache = ReviewCacheRepo(conn)

    @classmethod
    def create(cls, path: str | os.PathLike[str]) -> Project:
        return cls(open_connection(path, create=True))

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, read_only: bool = False) -> Project:
        """read_only: never writes (commands that only look; full disks, read-only media)."""
        return cls(open_connection(path, read_only=read_only))

    @property
    def read_only(self) -> bool:
        return self._conn.read_only

    @property
    def db(self):  # the sqlite-utils Database, for queries the accessors do not cover
        return self._conn.db

    def write(self):
        """Context manager for one write transaction spanning several accessor calls."""
        return self._conn.write()

    @property
    def active_encoder_id(self) -> int | None:
        value = self.meta.get("active_model_id")
        return int(value) if value else None

    def set_active_encoder(self, encoder_id: int | None) -> None:
        if encoder_id is not None:
            self.encoders.get(encoder_id)  # KeyError for an unknown model
        self.meta.set("active_model_id", None if encoder_id is None else str(encoder_id))

    def review_floor(self, encoder_id: int) -> float:
        """The score floor the operator set in Review for this encoder (scores differ by encoder)."""
        try:
            return float(self.meta.get(f"review_floor:{encoder_id}") or 0.0)
        except ValueError:
            return 0.0

    def set_review_floor(self, encoder_id: int, floor: float) -> None:
        self.meta.set(f"review_floor:{encoder_id}", f"{float(floor):.4f}")

    def summary(self) -> ProjectSummary:
        return ProjectSummary(
            cameras=self.cameras.stats(),
            encoders=len(self.encoders.all()),
            embeddings=self.embeddings.count(),
            decisions=self.decisions.count(),
            decisions_total=self.decisions.count(active_only=False),
            named_identities=self.identities.count(),
            skipped=len(self.skipped.all()),
        )

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
