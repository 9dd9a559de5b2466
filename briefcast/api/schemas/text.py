"""Free text in requests: no control characters (tab and newline aside), trimmed, markup
removed (see markup.py), its length checked on what the client sent.

A field says its limits and the kind in one annotation that type-checks:
`topic: Annotated[str, Len(3, 200), PLAIN]`, or `PLAIN_OR_BLANK` where an empty or blank
string is allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from annotated_types import Len
from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from briefcast.markup import strip_markup

__all__ = ["PLAIN", "PLAIN_OR_BLANK", "FreeText", "Len"]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# What the validators enforce, said in the schema too (clients and fuzzers read it): no control
# characters but tab and newline, and (unless blank is allowed) one character that is not space.
_TEXT_CHAR = r"[^\x00-\x08\x0b-\x1f\x7f]"
_TEXT_PATTERN = rf"^{_TEXT_CHAR}*$"
_SOME_TEXT_PATTERN = rf"^{_TEXT_CHAR}*[^\x00-\x08\x0b-\x1f\x7f\s]{_TEXT_CHAR}*$"


def _no_control_chars(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _plain(value: str) -> str:
    # Lengths were checked on what the client sent (as the schema says); what is stored is
    # trimmed and free of markup, and may be shorter (markup is removed, not refused).
    return strip_markup(value.strip()).strip()


@dataclass(frozen=True)
class FreeText:
    """Pydantic metadata for free text; place it after the length (`Len`), which then applies
    to the text as sent."""

    blank_ok: bool = False

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        schema = core_schema.no_info_after_validator_function(_no_control_chars, handler(source))
        if not self.blank_ok:
            schema = core_schema.no_info_after_validator_function(_not_blank, schema)
        return core_schema.no_info_after_validator_function(_plain, schema)

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = _TEXT_PATTERN if self.blank_ok else _SOME_TEXT_PATTERN
        return json_schema


PLAIN = FreeText()
PLAIN_OR_BLANK = FreeText(blank_ok=True)
