"""Errors raised when a project file cannot be used; messages are shown to users verbatim."""

from __future__ import annotations


class ProjectError(Exception):
    """Base class: the project file cannot be opened or written as asked."""


class NotAProjectError(ProjectError):
    """The file is not SQLite, or is SQLite but not a reid-desktop project."""


class SchemaTooNewError(ProjectError):
    """The file was written by a newer reid-desktop; opening it could damage it."""


class ReadOnlyProjectError(ProjectError):
    """The file (or its folder) cannot be written, so decisions could not be saved."""


class ProjectExistsError(ProjectError):
    """Creating a project where a file already exists."""


class DiskFullError(ProjectError):
    """A write failed because the disk (or the file-size limit) is full; nothing was half-saved."""
