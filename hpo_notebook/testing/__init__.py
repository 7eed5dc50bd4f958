"""Helpers for testing hpo_notebook and code built on it: toy problems with known answers."""
