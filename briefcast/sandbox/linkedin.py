"""LinkedIn REST sandbox (Images API, Posts API, analytics), per docs/contracts/linkedin.md.

Section numbers (§) refer to docs/contracts/.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from briefcast.sandbox import linkedin_rules as rules
from briefcast.sandbox.common import Accounts, Clock, IdGen, SandboxCore
from briefcast.sandbox.control import SandboxApp, accounts_router, control_router, current_record
from briefcast.sandbox.linkedin_analytics import analytics_router
from briefcast.sandbox.linkedin_throttle import DailyThrottle, endpoint_key
from briefcast.settings import SANDBOX_TOKEN, Settings

# §3.1: versions retire after about a year; the sandbox accepts a configured window.
DEFAULT_ACTIVE_VERSIONS = tuple(f"2025{m:02d}" for m in range(9, 13)) + tuple(
    f"2026{m:02d}" for m in range(1, 9)
)
UPLOAD_TTL_MS = 3600 * 1000  # uploadUrlExpiresAt: epoch ms (§3.3) [I: one hour]
DEFAULT_AUTHOR: str = Settings.model_fields["linkedin_author_urn"].default


@dataclass
class ImageAsset:
    id: str
    owner: str
    upload_id: str
    upload_expires_ms: int
    status: str = "WAITING_UPLOAD"  # §3.3 [I] WAITING_UPLOAD → PROCESSING → AVAILABLE
    processing_reads: int = 0
    width: int = 0
    height: int = 0


class LinkedInState:
    def __init__(self, core: SandboxCore, throttle: DailyThrottle, accounts: Accounts) -> None:
        self.core = core
        self.throttle = throttle
        self.accounts = accounts  # token → the author URN its member posts as
        self.reset()

    def reset(self) -> None:
        self.images: dict[str, ImageAsset] = {}
        self.uploads: dict[str, str] = {}  # upload id → image URN
        self.posts: dict[str, rules.Post] = {}
        self.deleted: dict[str, rules.Post] = {}
        self.throttle.reset()
        self.accounts.reset()

    def now_ms(self) -> int:
        return int(self.core.clock.now() * 1000)


def _bearer(request: Request, accounts: Accounts) -> str:
    """The author URN the bearer token's member posts as; 401 for no token or an unknown one."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise rules.empty_token()
    author = accounts.owner(value.strip())
    if author is None:
        raise rules.bad_token()
    return author


def create_app(
    *,
    access_token: str = SANDBOX_TOKEN,
    author: str = DEFAULT_AUTHOR,
    accounts: Mapping[str, str] | None = None,
    active_versions: Iterable[str] = DEFAULT_ACTIVE_VERSIONS,
    processing_reads: int = 0,
    duplicate_window_s: float = 24 * 3600,
    seed: int = 0,
    clock: Clock | None = None,
    app_daily_limits: Mapping[str, int] | None = None,
    member_daily_limits: Mapping[str, int] | None = None,
) -> SandboxApp:
    """The LinkedIn sandbox. `processing_reads`: image GETs answered PROCESSING after upload;
    `duplicate_window_s`: how long the same author+commentary+media counts as a duplicate [I].
    `app_daily_limits` / `member_daily_limits`: calls per UTC day keyed by endpoint, e.g.
    `{"POST /rest/posts": 100}`; the member is the bearer token (§3.8; no published numbers).
    `access_token` posts as `author`; `accounts` maps more tokens to their authors and
    `POST /_sandbox/accounts` adds one at run time. A post as any other author is a 403.
    """
    core = SandboxCore(clock=clock or Clock(), ids=IdGen(seed))
    throttle = DailyThrottle(core.clock, app_daily_limits, member_daily_limits)
    accounts_by_token = Accounts({access_token: author, **(accounts or {})})
    state = LinkedInState(core, throttle, accounts_by_token)
    versions = frozenset(active_versions)
    app = SandboxApp(core, title="LinkedIn REST sandbox")
    app.state.sandbox = state

    def posts() -> list[dict[str, Any]]:
        with core.lock:
            return [asdict(p) for p in state.posts.values()]

    app.include_router(control_router(core, posts, state.reset))
    app.include_router(accounts_router(state.accounts, "author", rules.AUTHOR))

    @app.exception_handler(rules.LinkedInError)
    async def linkedin_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, rules.LinkedInError)
        return JSONResponse(exc.body, status_code=exc.status)

    def rest_headers(request: Request) -> None:
        """§3.1: token, then LinkedIn-Version in the active set, then Rest.li 2.0.0."""
        request.state.author = _bearer(request, state.accounts)
        version = request.headers.get("linkedin-version")
        if not version:
            raise rules.missing_version()
        if version.split(".")[0] not in versions:  # "YYYYMM.RR" is accepted too
            raise rules.inactive_version(version)
        if request.headers.get("x-restli-protocol-version") != "2.0.0":
            raise rules.illegal_argument("X-Restli-Protocol-Version 2.0.0 is required")
        member = request.headers["authorization"].partition(" ")[2].strip()
        if not throttle.allow(member, endpoint_key(request.method, request.url.path)):
            raise rules.throttled()  # §3.8 daily counter, reset at 00:00 UTC

    rest = APIRouter(prefix="/rest", dependencies=[Depends(rest_headers)])

    async def json_body(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError as exc:
            raise rules.illegal_argument("Request body is not valid JSON") from exc
        if not isinstance(body, dict):
            raise rules.illegal_argument("Request body must be a JSON object")
        return body

    @rest.post("/images")
    async def initialize_upload(request: Request, action: str = "") -> dict[str, Any]:
        if action != "initializeUpload":  # §3.3
            raise rules.illegal_argument(
                "Resource method could not be resolved from request parameters."
            )
        req = (await json_body(request)).get("initializeUploadRequest")
        owner = req.get("owner") if isinstance(req, dict) else None
        if not isinstance(owner, str) or not rules.AUTHOR.match(owner):
            raise rules.validation(
                "/initializeUploadRequest/owner", "owner must be a person or organization URN"
            )
        with core.lock:
            urn = f"urn:li:image:C4E10AQ{core.ids.token(12)}"
            upload_id = core.ids.token(24)
            expires = state.now_ms() + UPLOAD_TTL_MS
            state.images[urn] = ImageAsset(urn, owner, upload_id, expires)
            state.uploads[upload_id] = urn
        upload_url = f"{str(request.base_url).rstrip('/')}/dms-uploads/{upload_id}"
        return {"value": {"uploadUrlExpiresAt": expires, "uploadUrl": upload_url, "image": urn}}

    @app.put("/dms-uploads/{upload_id}", status_code=201)
    async def upload(upload_id: str, request: Request) -> Response:
        _bearer(request, state.accounts)  # §3.2 [I]: the PUT carries the token
        data = await request.body()
        with core.lock:
            urn = state.uploads.get(upload_id)
            if urn is None:
                raise rules.not_found(f"upload {upload_id}")
            image = state.images[urn]
            if state.now_ms() > image.upload_expires_ms:
                raise rules.illegal_argument("Upload URL has expired")
            try:  # §3.3 accepted formats: JPG, PNG, GIF
                with PILImage.open(io.BytesIO(data)) as img:
                    ok = img.format in ("JPEG", "PNG", "GIF")
                    image.width, image.height = img.size
            except (UnidentifiedImageError, OSError):
                ok = False
            image.status = "PROCESSING" if ok else "PROCESSING_FAILED"
            if ok and processing_reads == 0:
                image.status = "AVAILABLE"
        current_record(request.scope)["image"] = urn
        return Response(status_code=201)

    @rest.get("/images/{urn}")
    async def get_image(urn: str, request: Request) -> dict[str, Any]:
        with core.lock:
            image = state.images.get(urn)
            if image is None:
                raise rules.not_found(urn)
            if image.status == "PROCESSING":
                image.processing_reads += 1
                if image.processing_reads > processing_reads:
                    image.status = "AVAILABLE"
            view: dict[str, Any] = {"id": urn, "owner": image.owner, "status": image.status}
            if image.status == "AVAILABLE":
                view["downloadUrl"] = (
                    f"{str(request.base_url).rstrip('/')}/dms-downloads/{image.upload_id}"
                )
                view["downloadUrlExpiresAt"] = state.now_ms() + UPLOAD_TTL_MS
                view["aspectRatioWidth"], view["aspectRatioHeight"] = image.width, image.height
            return view

    @rest.post("/posts", status_code=201)
    async def create_post(request: Request) -> Response:
        body = await json_body(request)
        post = rules.validate_post(body, state.images, state.now_ms())
        if post.author != request.state.author:  # §3.4: a member posts only as its own author
            version = request.headers["linkedin-version"]
            raise rules.access_denied("partnerApiPostsExternal.CREATE", version)
        key = (post.author, " ".join(post.sent_commentary.split()), post.media_id)
        with core.lock:
            # §3.10 duplicate detection; deleted posts still count (ghost URNs).
            for existing in [*state.posts.values(), *state.deleted.values()]:
                same = (
                    existing.author,
                    " ".join(existing.sent_commentary.split()),
                    existing.media_id,
                )
                if same == key and post.createdAt - existing.createdAt <= duplicate_window_s * 1000:
                    raise rules.duplicate(existing.id)
            post.id = f"urn:li:share:{core.ids.digits(19, '7')}"
            state.posts[post.id] = post
        current_record(request.scope)["publish"] = {
            "platform_post_id": post.id,
            "container_id": post.media_id,
            "caption": post.commentary,
        }
        return Response(status_code=201, headers={"x-restli-id": post.id})

    @rest.get("/posts/{urn}")
    async def get_post(urn: str) -> dict[str, Any]:
        post = state.posts.get(urn)
        if post is None:
            raise rules.not_found(urn)
        view = {k: v for k, v in asdict(post).items() if k not in ("sent_commentary", "media_id")}
        if view["content"] is None:
            view.pop("content")
        stamps = {"lastModifiedAt": post.createdAt, "publishedAt": post.createdAt}
        return {**view, **stamps}

    @rest.delete("/posts/{urn}", status_code=204)
    async def delete_post(urn: str) -> Response:
        # §3.4: DELETE → 204 [I]. The duplicate index keeps the URN, which is how the
        # "ghost" URNs of §3.10 step 4 (composio#2710) arise.
        with core.lock:
            post = state.posts.pop(urn, None)
            if post is None:
                raise rules.not_found(urn)
            state.deleted[urn] = post
        return Response(status_code=204)

    rest.include_router(analytics_router(lambda: state.posts, core.clock.now))
    app.include_router(rest)
    return app
