"""Persistence: the store contract and its SQLite implementation (also used in memory)."""

from hpo_notebook.store.base import SCHEMA_VERSION, Store, StudyRecord
from hpo_notebook.store.sqlite import SQLiteStore, open_store

__all__ = ["SCHEMA_VERSION", "SQLiteStore", "Store", "StudyRecord", "open_store"]
