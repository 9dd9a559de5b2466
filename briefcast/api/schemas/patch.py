"""PATCH bodies: every field optional, none of them nullable.

A field left out is left alone; a field sent as null is refused (there is nothing to clear).
Pydantic writes an optional field's schema as "that type, or null", which would promise
clients (and fuzzers) that null is accepted; this base class says what the server does.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


def _without_null(schema: dict[str, Any]) -> None:
    for prop in schema.get("properties", {}).values():
        branches = prop.get("anyOf")
        if not branches:
            continue
        kept = [b for b in branches if b.get("type") != "null"]
        prop.pop("default", None)
        if len(kept) == 1:
            del prop["anyOf"]
            prop.update(kept[0])
        else:
            prop["anyOf"] = kept


class PatchModel(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_without_null)


def nulls_in(changes: dict[str, Any]) -> list[str]:
    """The fields a PATCH sent as null (refused: see the module's docstring)."""
    return sorted(name for name, value in changes.items() if value is None)
