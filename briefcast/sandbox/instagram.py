"""Instagram Graph API sandbox (content publishing), per docs/contracts/instagram.md.

Section numbers (§) refer to docs/contracts/.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

import certifi
import httpx
from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from briefcast.sandbox import instagram_rules as rules
from briefcast.sandbox.common import Clock, IdGen, SandboxCore, parse_body
from briefcast.sandbox.control import (
    CONTROL_PREFIX,
    SandboxApp,
    accounts_router,
    control_router,
    current_record,
)
from briefcast.sandbox.instagram_state import (
    QUOTA_WINDOW_S,
    STATUS_TEXT,
    Container,
    InstagramConfig,
    InstagramState,
    Media,
)
from briefcast.settings import SANDBOX_TOKEN, Settings

DEFAULT_VERSION = "v25.0"  # §2.1 latest
VERSIONED = re.compile(r"^/v\d+\.\d+(/|$)")
MEDIA_FIELDS = {"id", "caption", "media_type", "media_url", "permalink", "timestamp"}
MEDIA_FIELDS |= {"like_count", "comments_count", "username", "owner"}
DEFAULT_USER_ID: str = Settings.model_fields["instagram_user_id"].default
IG_USER_ID = re.compile(r"\d+")  # §2.1 all ids are numeric strings


class ExpireTokenIn(BaseModel):
    token: str


@dataclass
class Call:
    """One Graph request: its parameters, the token and the IG user that token acts as."""

    params: dict[str, str]
    token: str
    user: str

    def own(self, ig_user_id: str, method: str = "get") -> None:
        """A token acts for its own user only; another user's edges are code 100/33."""
        if ig_user_id != self.user:
            raise rules.unknown_object(ig_user_id, method)


def _graph_time(epoch_s: float) -> str:  # §2.7 "2021-08-13T08:25:28+0000"
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(epoch_s))


def _fields(params: dict[str, str], default: str = "id") -> list[str]:
    return [f.strip() for f in params.get("fields", default).split(",") if f.strip()]


TOKEN_TTL_S = 60 * 86400  # §2.12: refreshed long-lived tokens last 60 days


def _unversion(path: str) -> str:
    """§2.1: tolerate unversioned paths by routing them as the latest version."""
    if path.startswith("/_sandbox") or VERSIONED.match(path):
        return path
    return f"/{DEFAULT_VERSION}{path}"


@cache
def _tls_context() -> ssl.SSLContext:
    """One CA bundle for every image fetch: building it is what a new client costs (~70 ms)."""
    return ssl.create_default_context(cafile=certifi.where())


def create_app(
    *,
    access_token: str = SANDBOX_TOKEN,
    user_id: str = DEFAULT_USER_ID,
    accounts: Mapping[str, str] | None = None,
    quota_total: int = 100,
    finish_after_polls: int = 0,
    seed: int = 0,
    clock: Clock | None = None,
    fetch_timeout_s: float = 5.0,
    finish_after_s: float = 0.0,
    container_limit: int = 400,
    insights_delay_s: float = 0.0,
    insights_min_reach: int = 0,
    expired_tokens: Iterable[str] = (),
) -> SandboxApp:
    """The Graph sandbox ([I] knobs per §0.6: configurable, documented here).

    `access_token` acts as the IG user `user_id`; `accounts` maps more tokens to their users
    and `POST /_sandbox/accounts` adds one at run time. `quota_total` (§2.6) and
    `container_limit` (§2.3) are each user's own, per rolling 24 h.
    A container turns FINISHED once it has been polled `finish_after_polls` times AND
    `finish_after_s` sandbox-clock seconds have passed (§2.4). Insights answer empty `data`
    until `insights_delay_s` after publishing, then code 10 when the media's reach is under
    `insights_min_reach` (§2.8).
    `expired_tokens` get the 190/463 envelope (§2.10); `POST /_sandbox/tokens/expire`
    expires one more at run time.
    """
    core = SandboxCore(clock=clock or Clock(), ids=IdGen(seed))
    config = InstagramConfig(
        quota_total=quota_total,
        finish_after_polls=finish_after_polls,
        finish_after_s=finish_after_s,
        container_limit=container_limit,
        insights_delay_s=insights_delay_s,
        insights_min_reach=insights_min_reach,
        expired_tokens=frozenset(expired_tokens),
        accounts={access_token: user_id, **(accounts or {})},
    )
    state = InstagramState(core, config)
    app = SandboxApp(core, _unversion, title="Instagram Graph sandbox")
    app.state.sandbox = state

    def posts() -> list[dict[str, Any]]:
        with core.lock:
            return [asdict(m) for m in state.media.values()]

    app.include_router(control_router(core, posts, state.reset))
    app.include_router(accounts_router(state.accounts, "user_id", IG_USER_ID))

    @app.post(f"{CONTROL_PREFIX}/tokens/expire")
    def expire_token(spec: ExpireTokenIn) -> dict[str, float]:
        with core.lock:
            state.expired[spec.token] = core.clock.now()
        return {"expired_at": state.expired[spec.token]}

    @app.exception_handler(rules.GraphError)
    async def graph_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, rules.GraphError)
        body = exc.envelope(state.traces.token(23, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn-_"))
        return JSONResponse(body, status_code=exc.status)

    async def params(request: Request) -> Call:
        """§2.1: params from query, urlencoded/multipart form or JSON; token three ways."""
        merged = dict(request.query_params)
        body = parse_body(request.headers.get("content-type", ""), await request.body())
        if isinstance(body, dict):
            merged.update({k: v if isinstance(v, str) else str(v) for k, v in body.items()})
        token = merged.pop("access_token", None)
        scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
        if token is None and scheme.lower() == "bearer":
            token = bearer.strip()
        if token is not None and token in state.expired:  # §2.10 190/463 expired session
            raise rules.expired_token(state.expired[token], core.clock.now())
        user = state.accounts.owner(token)
        if token is None or user is None:
            raise rules.bad_token()
        return Call(merged, token, user)

    @app.get("/{ver}/refresh_access_token")
    async def refresh_access_token(request: Request) -> dict[str, Any]:
        """§2.12: a long-lived token, not expired, is refreshed for 60 days from now.

        Registered before `/{ver}/{media_id}` so the path is not read as a media id. The
        refreshed token is the same string, so it keeps acting as the same user.
        """
        call = await params(request)
        if call.params.get("grant_type") != "ig_refresh_token":
            raise rules.missing_param("grant_type=ig_refresh_token")
        return {"access_token": call.token, "token_type": "bearer", "expires_in": TOKEN_TTL_S}

    fetchers: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}

    def fetcher() -> httpx.AsyncClient:
        # One pooled client per event loop serving this app: a burst of containers reuses
        # its connections to the media host instead of opening one per image.
        loop = asyncio.get_running_loop()
        if loop not in fetchers:
            fetchers[loop] = httpx.AsyncClient(
                timeout=fetch_timeout_s,
                trust_env=False,
                follow_redirects=True,
                verify=_tls_context(),
            )
        return fetchers[loop]

    async def fetch_image(url: str) -> bytes:
        """§2.3: Meta downloads `image_url` itself at creation time."""
        if not url.startswith(("http://", "https://")):
            raise rules.fetch_failed(url)
        try:
            resp = await fetcher().get(url)
        except httpx.HTTPError as exc:
            raise rules.fetch_failed(url) from exc
        if resp.status_code != 200:
            raise rules.fetch_failed(url)
        return resp.content

    @app.post("/{ver}/{ig_user_id}/media")
    async def create_container(ig_user_id: str, request: Request) -> dict[str, str]:
        call = await params(request)  # §2.3
        call.own(ig_user_id, "post")
        p = call.params
        image_url = p.get("image_url")
        if not image_url:
            raise rules.missing_param("image_url")
        with core.lock:  # §2.3 rolling 400-container cap
            if state.containers_in_window(ig_user_id) >= config.container_limit:
                raise rules.container_limit_reached(config.container_limit)
        caption = p.get("caption", "")
        rules.check_caption(caption)
        rules.check_image(await fetch_image(image_url))
        with core.lock:
            cid = core.ids.digits(17, "17")
            state.containers[cid] = Container(
                cid, ig_user_id, image_url, caption, p.get("alt_text", ""), core.clock.now()
            )
        current_record(request.scope)["container_id"] = cid
        return {"id": cid}

    @app.post("/{ver}/{ig_user_id}/media_publish")
    async def publish(ig_user_id: str, request: Request) -> dict[str, str]:
        call = await params(request)  # §2.5
        call.own(ig_user_id, "post")
        p = call.params
        creation_id = p.get("creation_id")
        if not creation_id:
            raise rules.missing_param("creation_id")
        with core.lock:
            c = state.containers.get(creation_id)
            if c is None or c.owner != ig_user_id:
                raise rules.unknown_object(creation_id)
            status = state.status_code(c)
            if status == "PUBLISHED":
                raise rules.already_published()
            if status == "EXPIRED":
                raise rules.expired_container()
            if status != "FINISHED":
                raise rules.not_ready()
            if state.quota_usage(ig_user_id) >= config.quota_total:  # §2.6 at media_publish
                raise rules.quota_reached()
            now = core.clock.now()
            mid = core.ids.digits(17, "18")
            state.media[mid] = Media(
                id=mid,
                owner=ig_user_id,
                caption=c.caption,
                media_url=c.image_url,
                permalink=f"https://www.instagram.com/p/{core.ids.token(11)}/",
                timestamp=_graph_time(now),
                published_at=now,
                container_id=c.id,
            )
            c.media_id = mid
            state.publish_times[ig_user_id].append(now)
        current_record(request.scope)["publish"] = {
            "platform_post_id": mid,
            "container_id": c.id,
            "caption": c.caption,
        }
        return {"id": mid}

    @app.get("/{ver}/{ig_user_id}/content_publishing_limit")
    async def publishing_limit(ig_user_id: str, request: Request) -> dict[str, Any]:
        call = await params(request)  # §2.6
        call.own(ig_user_id)
        row: dict[str, Any] = {"quota_usage": state.quota_usage(ig_user_id)}
        if "config" in _fields(call.params, "quota_usage"):
            row["config"] = {"quota_total": config.quota_total, "quota_duration": QUOTA_WINDOW_S}
        return {"data": [row]}

    @app.get("/{ver}/{ig_user_id}/media")
    async def list_media(ig_user_id: str, request: Request) -> dict[str, Any]:
        call = await params(request)  # §2.7, newest first
        call.own(ig_user_id)
        p = call.params
        fields, limit = _fields(p), max(1, min(int(p.get("limit", "25")), 100))
        start = int(p.get("after", "0") or 0)
        with core.lock:
            mine = [m for m in reversed(state.media.values()) if m.owner == ig_user_id]
        page = mine[start : start + limit]
        now = core.clock.now()
        body: dict[str, Any] = {"data": [_media_view(m, fields, now) for m in page]}
        cursors = {"before": str(start), "after": str(start + len(page))}
        body["paging"] = {"cursors": cursors}
        if start + limit < len(mine):
            body["paging"]["next"] = str(request.url.include_query_params(after=start + limit))
        return body

    @app.get("/{ver}/{media_id}/insights")
    async def insights(media_id: str, request: Request) -> dict[str, Any]:
        call = await params(request)  # §2.8
        metrics = [m.strip() for m in call.params.get("metric", "").split(",") if m.strip()]
        if not metrics:
            raise rules.missing_param("metric")
        for i, metric in enumerate(metrics):
            if metric not in rules.FEED_METRICS:
                raise rules.unsupported_metric(i)
        media = state.media.get(media_id)
        if media is None or media.owner != call.user:
            raise rules.unknown_object(media_id)
        now = core.clock.now()
        if now - media.published_at < config.insights_delay_s:
            return {"data": []}  # §2.8: missing data is an empty set, not 0
        values = rules.insight_values(media_id, media.published_at, now)
        if values["reach"] < config.insights_min_reach:
            raise rules.not_enough_viewers()
        return {
            "data": [
                {
                    "name": m,
                    "period": "lifetime",
                    "values": [{"value": values[m]}],
                    "title": rules.METRIC_TITLES[m],
                    "description": f"Sandbox value for {m}",
                    "id": f"{media_id}/insights/{m}/lifetime",
                }
                for m in metrics
            ]
        }

    @app.get("/{ver}/{node_id}")
    async def get_node(node_id: str, request: Request) -> dict[str, Any]:
        call = await params(request)
        fields = _fields(call.params)
        with core.lock:
            # Another user's container or media reads as missing, as on a user's edges.
            c = state.containers.get(node_id)
            if c is not None and c.owner == call.user:  # §2.4: each status read is a poll
                code = state.status_code(c)
                if "status_code" in fields or "status" in fields:
                    c.polls += 1
                view = {"id": c.id, "status_code": code, "status": STATUS_TEXT[code]}
                return {k: v for k, v in view.items() if k in fields or k == "id"}
            media = state.media.get(node_id)
            if media is not None and media.owner == call.user:
                return _media_view(media, fields, core.clock.now())
        raise rules.unknown_object(node_id)

    return app


def _media_view(m: Media, fields: list[str], now: float) -> dict[str, Any]:
    unknown = [f for f in fields if f not in MEDIA_FIELDS]
    if unknown:
        raise rules.GraphError(
            100, f"(#100) Tried accessing nonexisting field ({unknown[0]}) on node type (IGMedia)"
        )
    values = rules.insight_values(m.id, m.published_at, now)  # agrees with the insights
    full: dict[str, Any] = {
        **{k: v for k, v in asdict(m).items() if k in MEDIA_FIELDS},
        "like_count": values["likes"],
        "comments_count": values["comments"],
        "username": "briefcast_sandbox",
        "owner": {"id": m.owner},
    }
    return {"id": m.id, **{f: full[f] for f in fields}}
