"""Read access by key for the typed records that used to be plain dicts."""

from __future__ import annotations

import dataclasses
from typing import Any


class DictReads:
    """``record["field"]`` and ``record.get("field")`` on a dataclass, as on the dict it
    replaced (``"type"`` included where the class has one), so listener code written for
    dicts keeps working. New code reads the attributes."""

    __slots__ = ()

    def __getitem__(self, key: str) -> Any:
        if key == "type" and hasattr(type(self), "type"):
            return type(self).type  # type: ignore[attr-defined]
        if key in {f.name for f in dataclasses.fields(self)}:  # type: ignore[arg-type]
            return getattr(self, key)
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key, _MISSING) is not _MISSING


_MISSING = object()
