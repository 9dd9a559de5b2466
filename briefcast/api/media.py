"""`/media`: stored images, served only under their content-addressed names.

A name is `ab/<sha256 of the bytes>.jpg|png|webp` (see storage.is_content_addressed):
anything else under the media root (the render stage's JSON sidecars, temporary files of a
write in progress, directory listings) is a 404. The bytes behind a name never change, so they
are cacheable for good. `nosniff` is set here too, so the files are never read as anything but
their image type even without the edge layer (which adds it, and the CSP, to every answer).
"""

from __future__ import annotations

from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import Scope

from briefcast.pipeline.render.storage import is_content_addressed

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "public, max-age=31536000, immutable",
}


class MediaFiles(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        if not is_content_addressed(path.replace("\\", "/")):
            raise HTTPException(status_code=404)
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers.update(HEADERS)
        return response
