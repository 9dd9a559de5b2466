"""Instagram Graph API publisher: container → poll → media_publish.

Section numbers (§) refer to docs/contracts/instagram.md.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx

from briefcast.observability import metrics
from briefcast.pipeline.adapters.http_base import HttpPublisherBase, platform_message
from briefcast.pipeline.adapters.publisher import (
    AmbiguousPublishError,
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

# §2.10: generic Graph codes to back off on (temporary, throttling) and IG server errors.
TRANSIENT_CODES = {1, 2, 4, 17, 32, 341, 368, 613, 80002, -1}
QUOTA_RETRY_S = 3600.0  # §2.6 rolling 24 h window: wait for quota, do not hot-loop
# A slot frees when the oldest post leaves the window, which the limit read does not say.
QUOTA_CHECK_RETRY_S = 900.0
RECOVERY_MAX_PAGES = 20  # 2,000 media back: far more than an account posts in a retry window
METRICS = ("reach", "likes", "comments", "saved", "shares", "views", "total_interactions")
RECOVERY_SKEW_S = 300  # clock skew tolerated when matching a published media by timestamp
STARTED_KEY = "publish_started_at"
# §2.8 low-reach text: code 10 alone also means "permission missing" (§2.10).
NOT_ENOUGH_VIEWERS = "Not enough viewers"


def _retry_after(resp: httpx.Response) -> float | None:
    """Retry-After seconds, else §2.11 BUC `estimated_time_to_regain_access` (minutes)."""
    header = resp.headers.get("retry-after")
    if header:
        try:
            return float(header)
        except ValueError:
            pass
    try:
        usage = json.loads(resp.headers.get("x-business-use-case-usage", "{}"))
        minutes = [
            float(e.get("estimated_time_to_regain_access", 0))
            for entries in usage.values()
            for e in entries
        ]
    except (ValueError, AttributeError, TypeError):
        return None
    return max(minutes) * 60 if minutes and max(minutes) > 0 else None


def graph_error(resp: httpx.Response) -> PublishError:
    """Map a failed Graph response; §2.10 says branch on code/subcode/is_transient."""
    try:
        err = resp.json().get("error") or {}
    except (ValueError, AttributeError):
        err = {}
    code, sub = err.get("code"), err.get("error_subcode")
    message = err.get("error_user_msg") or err.get("message") or f"HTTP {resp.status_code}"
    message = platform_message(resp, str(message))
    tag = None if code is None else (f"{code}/{sub}" if sub is not None else str(code))
    status, retry_after = resp.status_code, _retry_after(resp)
    if code == 190:
        return AuthPublishError(message, status=status, code=tag)
    if code == 9 and sub == 2207042:  # publishing quota: held, on the scale of hours
        return HeldPublishError(
            message, status=status, code=tag, retry_after_s=retry_after or QUOTA_RETRY_S
        )
    if (
        status == 429
        or status >= 500
        or code in TRANSIENT_CODES
        or code == 9007  # §2.5 not ready yet: poll again, then publish the same container
        or err.get("is_transient") is True
    ):
        return TransientPublishError(message, status=status, code=tag, retry_after_s=retry_after)
    return PermanentPublishError(message, status=status, code=tag)


class InstagramPublisher(HttpPublisherBase):
    platform = "instagram"
    display_name = "Instagram"

    def __init__(
        self,
        base_url: str,
        api_version: str,
        ig_user_id: str,
        access_token: str,
        *,
        timeout_s: float = 10.0,
        poll_interval_s: float = 1.0,
        max_polls: int = 60,
        page_size: int = 100,  # media per listing page when recovering a published post
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.ig_user_id = ig_user_id
        self._access_token = access_token  # for the refresh call, which carries it (§2.12)
        self.page_size = page_size
        self.poll_interval_s = poll_interval_s
        self.max_polls = max_polls
        # Bearer keeps the token out of URLs (and so out of httpx's request logs), §2.1
        super().__init__(
            httpx.Client(
                base_url=f"{base_url.rstrip('/')}/{api_version}",
                headers={"Authorization": f"Bearer {access_token}"},
                timeout=timeout_s,
                transport=transport,
            )
        )

    @classmethod
    def from_settings(cls, settings: Settings, **kw: Any) -> InstagramPublisher:
        return cls(
            settings.instagram_graph_base_url,
            settings.instagram_api_version,
            settings.instagram_user_id,
            settings.instagram_access_token.get_secret_value(),
            timeout_s=settings.http_timeout_s,
            **kw,
        )

    def _call(
        self, method: str, path: str, *, ambiguous: bool = False, **kw: Any
    ) -> dict[str, Any]:
        resp = self._send(method, path, ambiguous=ambiguous, **kw)
        if not resp.is_success:
            raise graph_error(resp)
        body: dict[str, Any] = resp.json()
        return body

    def publish(
        self, request: PublishRequest, progress: PublishProgress, save: SaveProgress
    ) -> PublishProgress:
        p = replace(progress, extra=dict(progress.extra))
        if p.platform_post_id is None:
            self._publish_steps(request, p, save)
        if p.permalink is None:
            try:
                media = self._call("GET", f"/{p.platform_post_id}", params={"fields": "permalink"})
            except PublishError:
                return p  # the post exists; the permalink is a nicety for later
            # No save: nothing is sent after this, and the caller commits the result.
            p.permalink = media.get("permalink")
        return p

    def _publish_steps(
        self, request: PublishRequest, p: PublishProgress, save: SaveProgress
    ) -> None:
        for _ in range(2):  # §2.13 step 5: at most one fresh container per call
            if p.container_id is None:
                created = self._call(
                    "POST",
                    f"/{self.ig_user_id}/media",
                    data={
                        "image_url": request.image_url,
                        "caption": request.caption,
                        "alt_text": request.alt_text,
                    },
                )
                p.container_id = str(created["id"])
                # Recovery looks for our media from here on: a little early is only wider.
                p.extra[STARTED_KEY] = datetime.now(UTC).isoformat()
                save(p)
            status = self._wait_until_ready(p.container_id)
            if status in ("ERROR", "EXPIRED"):
                p.container_id = None
                p.extra.pop(STARTED_KEY, None)
                save(p)
                continue
            if status == "PUBLISHED":  # an earlier attempt landed (§2.13 recovery step 2)
                p.platform_post_id = self._recover_media_id(request, p)
                metrics.duplicate_prevented("instagram", "container_published")
            else:
                self._check_quota()
                if STARTED_KEY not in p.extra:  # a container saved before the marker existed
                    p.extra[STARTED_KEY] = datetime.now(UTC).isoformat()
                    save(p)
                published = self._call(
                    "POST",
                    f"/{self.ig_user_id}/media_publish",
                    data={"creation_id": p.container_id},
                    ambiguous=True,
                )
                p.platform_post_id = str(published["id"])
            save(p)
            return
        raise TransientPublishError("Instagram could not process the image twice in a row")

    def refresh_token(self) -> tuple[str, int]:
        """§2.12: extend a long-lived token; returns the token and its lifetime in seconds."""
        body = self._call(
            "GET",
            "/refresh_access_token",
            params={"grant_type": "ig_refresh_token", "access_token": self._access_token},
        )
        return str(body["access_token"]), int(body["expires_in"])

    def _check_quota(self) -> None:
        """§2.6: read the rolling 24-hour quota before publishing; hold the post when spent."""
        body = self._call(
            "GET",
            f"/{self.ig_user_id}/content_publishing_limit",
            params={"fields": "quota_usage,config"},
        )
        row = (body.get("data") or [{}])[0]
        usage = int(row.get("quota_usage", 0))
        total = int((row.get("config") or {}).get("quota_total", usage + 1))
        if usage >= total:
            raise HeldPublishError(
                f"Instagram's publishing limit is used: {usage} of {total} posts in 24 hours",
                code="quota",
                retry_after_s=QUOTA_CHECK_RETRY_S,
            )

    def _wait_until_ready(self, container_id: str) -> str:
        """§2.4: poll until anything but IN_PROGRESS, bounded by max_polls."""
        for attempt in range(self.max_polls):
            body = self._call("GET", f"/{container_id}", params={"fields": "status_code,status"})
            status = str(body.get("status_code", ""))
            if status != "IN_PROGRESS":
                return status
            if attempt + 1 < self.max_polls:
                time.sleep(self.poll_interval_s)
        raise TransientPublishError(f"container {container_id} still IN_PROGRESS")

    def _recover_media_id(self, request: PublishRequest, p: PublishProgress) -> str:
        """§2.13: find our media by caption and timestamp; never just take data[0].

        The listing is newest first (§2.7): page back until the media are older than the
        attempt, since under load many posts may have been published after ours.
        """
        started = p.extra.get(STARTED_KEY)
        since = datetime.fromisoformat(started).timestamp() - RECOVERY_SKEW_S if started else 0.0
        matches: list[str] = []
        params: dict[str, Any] = {"fields": "id,caption,timestamp", "limit": self.page_size}
        for _ in range(RECOVERY_MAX_PAGES):
            body = self._call("GET", f"/{self.ig_user_id}/media", params=params)
            page = body.get("data", [])
            stamps = [
                datetime.strptime(m["timestamp"], "%Y-%m-%dT%H:%M:%S%z").timestamp() for m in page
            ]
            matches += [
                str(m["id"])
                for m, stamp in zip(page, stamps, strict=True)
                if m.get("caption") == request.caption and stamp >= since
            ]
            paging = body.get("paging") or {}
            if not page or min(stamps) < since or "next" not in paging:
                break
            params = {**params, "after": paging["cursors"]["after"]}
        if len(matches) != 1:
            raise AmbiguousPublishError(
                f"container {p.container_id} is PUBLISHED but {len(matches)} media match; "
                "reconcile by hand"
            )
        return matches[0]

    def fetch_metrics(self, platform_post_id: str) -> PostMetrics:
        """§2.8 current feed metrics; missing data is absent, not 0.

        Empty `data` (insights lag up to 48 h) and code 10 "Not enough viewers" both mean
        "no values yet": an empty result, not an error.
        """
        try:
            body = self._call(
                "GET", f"/{platform_post_id}/insights", params={"metric": ",".join(METRICS)}
            )
        except PermanentPublishError as exc:
            if exc.code == "10" and NOT_ENOUGH_VIEWERS in exc.message:
                return PostMetrics(values={})
            raise
        values: dict[str, int] = {}
        for row in body.get("data", []):
            points = row.get("values") or []
            if points and isinstance(points[-1].get("value"), int):
                values[str(row["name"])] = points[-1]["value"]
        return PostMetrics(values=values)
