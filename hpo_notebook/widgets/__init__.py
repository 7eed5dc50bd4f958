"""Notebook widgets (ipywidgets loads on first use)."""
