"""LinkedIn REST publisher: image upload → POST /rest/posts → analytics.

Section numbers (§) refer to docs/contracts/linkedin.md.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from briefcast.observability import metrics
from briefcast.pipeline.adapters.http_base import HttpPublisherBase, platform_message
from briefcast.pipeline.adapters.publisher import (
    AuthPublishError,
    HeldPublishError,
    PermanentPublishError,
    PostMetrics,
    PublishError,
    PublishProgress,
    PublishRequest,
    SaveProgress,
    TransientPublishError,
)
from briefcast.settings import Settings

# §3.4: hashtags stay markup; every other reserved character is backslash-escaped.
_LITTLE_TEXT = re.compile(r"(#\w+)|([|{}@\[\]()<>#*_~\\])")
THROTTLE_RETRY_S = 300.0  # §3.8: no Retry-After is documented; minutes, not seconds
_SHARE_URN = re.compile(r"urn:li:(?:share|ugcPost):\d+")  # §3.10 step 3
UPLOAD_URL_KEY, UPLOAD_EXPIRES_KEY = "upload_url", "upload_url_expires_at"
# §3.6 totalShareStatistics fields, as stored in a snapshot (see analytics.measures.METRICS).
SHARE_STATS = (
    ("impressions", "impressionCount"),
    ("unique_impressions", "uniqueImpressionsCount"),
    ("clicks", "clickCount"),
    ("likes", "likeCount"),
    ("comments", "commentCount"),
    ("shares", "shareCount"),
)


def escape_little_text(text: str) -> str:
    """Escape §3.4 reserved characters so LinkedIn does not silently truncate the post."""
    return _LITTLE_TEXT.sub(lambda m: m.group(1) or "\\" + m.group(2), text)


def linkedin_error(resp: httpx.Response) -> PublishError:
    """§3.7 retry policy: 429/5xx retry, 401 re-auth, anything else stops."""
    try:
        body = resp.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    message = platform_message(resp, str(body.get("message") or f"HTTP {resp.status_code}"))
    code = body.get("code") or body.get("serviceErrorCode")
    tag, status = (None if code is None else str(code)), resp.status_code
    if status == 401:
        return AuthPublishError(message, status=status, code=tag)
    header = resp.headers.get("retry-after", "")
    retry = float(header) if header.replace(".", "", 1).isdigit() else None
    if status == 429:  # §3.8 daily throttle: hold, back off in minutes, never hot-loop
        return HeldPublishError(
            message, status=status, code=tag, retry_after_s=retry or THROTTLE_RETRY_S
        )
    if status >= 500:
        return TransientPublishError(message, status=status, code=tag, retry_after_s=retry)
    return PermanentPublishError(message, status=status, code=tag)


def _duplicate_of(resp: httpx.Response) -> str | None:
    """The existing URN from a 422 DUPLICATE_POST body (§3.7, §3.10), else None."""
    if resp.status_code != 422:
        return None
    try:
        body = resp.json()
        errors = body.get("errorDetails", {}).get("inputErrors", [])
    except (ValueError, AttributeError):
        return None
    if not any(e.get("code") == "DUPLICATE_POST" for e in errors if isinstance(e, dict)):
        return None
    match = _SHARE_URN.search(str(body.get("message", "")))
    return match.group(0) if match else None


class LinkedInPublisher(HttpPublisherBase):
    platform = "linkedin"
    display_name = "LinkedIn"

    def __init__(
        self,
        base_url: str,
        version: str,
        author_urn: str,
        access_token: str,
        *,
        timeout_s: float = 10.0,
        poll_interval_s: float = 1.0,
        max_polls: int = 30,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.author_urn = author_urn
        self.poll_interval_s = poll_interval_s
        self.max_polls = max_polls
        super().__init__(
            httpx.Client(
                base_url=base_url.rstrip("/"),
                headers={  # §3.1 required on every /rest call
                    "Authorization": f"Bearer {access_token}",
                    "LinkedIn-Version": version,
                    "X-Restli-Protocol-Version": "2.0.0",
                },
                timeout=timeout_s,
                transport=transport,
            )
        )

    @classmethod
    def from_settings(cls, settings: Settings, **kw: Any) -> LinkedInPublisher:
        return cls(
            settings.linkedin_api_base_url,
            settings.linkedin_version,
            settings.linkedin_author_urn,
            settings.linkedin_access_token.get_secret_value(),
            timeout_s=settings.http_timeout_s,
            **kw,
        )

    def _json(self, method: str, url: str, **kw: Any) -> dict[str, Any]:
        resp = self._send(method, url, **kw)
        if not resp.is_success:
            raise linkedin_error(resp)
        body: dict[str, Any] = resp.json()
        return body

    def publish(
        self, request: PublishRequest, progress: PublishProgress, save: SaveProgress
    ) -> PublishProgress:
        p = replace(progress, extra=dict(progress.extra))
        if p.platform_post_id is None:
            image_urn = self._ensure_image(request, p, save)
            p.platform_post_id = self._create_post(request, image_urn)
            p.permalink = f"https://www.linkedin.com/feed/update/{p.platform_post_id}/"
            # No save: nothing is sent after this, and the caller commits the result.
        return p

    def _ensure_image(self, request: PublishRequest, p: PublishProgress, save: SaveProgress) -> str:
        """§3.10: reuse a saved image URN; upload only when LinkedIn still waits for bytes."""
        status = self._image_status(p.container_id) if p.container_id else None
        expires = int(p.extra.get(UPLOAD_EXPIRES_KEY, "0") or 0)
        url_usable = UPLOAD_URL_KEY in p.extra and expires > time.time() * 1000 + 60_000
        if status is None or (status == "WAITING_UPLOAD" and not url_usable):
            body = self._json(
                "POST",
                "/rest/images",
                params={"action": "initializeUpload"},
                json={"initializeUploadRequest": {"owner": self.author_urn}},
            )["value"]
            p.container_id = str(body["image"])
            p.extra[UPLOAD_URL_KEY] = str(body["uploadUrl"])
            p.extra[UPLOAD_EXPIRES_KEY] = str(body["uploadUrlExpiresAt"])
            save(p)
            status = "WAITING_UPLOAD"
        assert p.container_id is not None
        if status == "WAITING_UPLOAD":
            resp = self._send(
                "PUT",
                p.extra[UPLOAD_URL_KEY],
                content=Path(request.image_path).read_bytes(),
                headers={"Content-Type": "application/octet-stream"},
            )
            if not resp.is_success:
                raise linkedin_error(resp)
            status = self._image_status(p.container_id)
        for _ in range(self.max_polls):  # §3.3 PROCESSING → AVAILABLE
            if status == "AVAILABLE":
                return p.container_id
            if status != "PROCESSING":
                raise PermanentPublishError(f"image {p.container_id} is {status}", code=status)
            time.sleep(self.poll_interval_s)
            status = self._image_status(p.container_id)
        raise TransientPublishError(f"image {p.container_id} still PROCESSING")

    def _image_status(self, urn: str) -> str | None:
        resp = self._send("GET", f"/rest/images/{quote(urn, safe='')}")
        if resp.status_code == 404:
            return None
        if not resp.is_success:
            raise linkedin_error(resp)
        return str(resp.json().get("status"))

    def _create_post(self, request: PublishRequest, image_urn: str) -> str:
        """§3.4 create; §3.10: a DUPLICATE_POST naming a live URN means an earlier try landed."""
        body = {
            "author": self.author_urn,
            "commentary": escape_little_text(request.caption),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "content": {"media": {"id": image_urn, "altText": request.alt_text}},
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        resp = self._send(
            "POST",
            "/rest/posts",
            content=json.dumps(body, separators=(",", ":")).encode(),  # byte-identical resends
            headers={"Content-Type": "application/json", "X-RestLi-Method": "CREATE"},
            ambiguous=True,
        )
        if resp.status_code == 201 and resp.headers.get("x-restli-id"):
            return resp.headers["x-restli-id"]
        existing = _duplicate_of(resp)
        if existing is None:
            raise linkedin_error(resp)
        check = self._send("GET", f"/rest/posts/{quote(existing, safe='')}")
        if check.status_code == 404:  # a "ghost" URN (§3.10 step 4): a person must look
            raise PermanentPublishError(
                f"LinkedIn reports a duplicate of {existing}, which does not exist",
                status=422,
                code="DUPLICATE_POST",
            )
        if not check.is_success:
            raise linkedin_error(check)
        metrics.duplicate_prevented("linkedin", "duplicate_post")
        return existing

    def fetch_metrics(self, platform_post_id: str) -> PostMetrics:
        """§3.6, under the names `measures.METRICS` expects.

        An organization's own post has share statistics: impressions, unique impressions,
        clicks, likes (reactions), comments and shares (reposts) in one read. A member's post
        has none (LinkedIn gives organic statistics for organizations only), so it gets what
        socialActions gives: likes and comments.
        """
        urn = quote(platform_post_id, safe="")
        if self.author_urn.startswith("urn:li:organization:"):
            key = "ugcPosts" if ":ugcPost:" in platform_post_id else "shares"
            org = quote(self.author_urn, safe="")
            stats = self._json(
                "GET",
                "/rest/organizationalEntityShareStatistics?q=organizationalEntity"
                f"&organizationalEntity={org}&{key}=List({urn})",
            )
            for element in stats.get("elements", []):
                totals = element.get("totalShareStatistics", {})
                return PostMetrics(
                    values={ours: int(totals.get(theirs, 0)) for ours, theirs in SHARE_STATS}
                )
        actions = self._json("GET", f"/rest/socialActions/{urn}")
        return PostMetrics(
            values={
                "likes": int(actions.get("likesSummary", {}).get("totalLikes", 0)),
                "comments": int(
                    actions.get("commentsSummary", {}).get("aggregatedTotalComments", 0)
                ),
            }
        )
