"""The ingress benchmark's yardstick: a hello-world FastAPI app, one pydantic model, no I/O.

`python -m bench.ingress` serves this with the same uvicorn and the same flags as the product's
API and sends it the same briefs with the same client, so the ratio of the two throughputs
says how much of the framework's speed the product's accept path keeps.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field


class HelloBrief(BaseModel):
    topic: str = Field(min_length=1, max_length=300)
    key_points: list[str] = Field(default_factory=list)
    platforms: list[str] = Field(default_factory=list)


def create_app() -> FastAPI:
    app = FastAPI(title="hello")

    @app.post("/api/v1/briefs", status_code=202)
    async def accept(brief: HelloBrief) -> dict[str, Any]:
        return {"run_id": str(uuid.uuid4()), "status": "queued", "topic": brief.topic}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
