"""Bundled trainer (PyTorch); runs as its own process, imports no Qt."""
