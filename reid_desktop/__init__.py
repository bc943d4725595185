"""reid-desktop: cross-camera person re-identification review workstation."""

__version__ = "0.1.0"
