"""Crops."""
