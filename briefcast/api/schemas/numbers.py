"""Numbers as the schema says: a JSON number, not `true` or `"3"`.

Pydantic's lax mode turns `true` into 1 and `"3"` into 3, which the OpenAPI document (type
integer / number) does not promise; strict mode would refuse `3.0`, which JSON Schema counts
as an integer. These types refuse exactly what the schema refuses.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator


def _json_number(value: Any) -> Any:
    if isinstance(value, bool | str):
        raise ValueError("must be a number")
    return value


JsonInt = Annotated[int, BeforeValidator(_json_number)]
JsonFloat = Annotated[float, BeforeValidator(_json_number)]
