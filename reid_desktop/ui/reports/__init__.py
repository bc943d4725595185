"""Screens made of plots: model reports and comparisons, training runs, the embedding map."""
