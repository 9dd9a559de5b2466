"""LinkedIn analytics reads (§3.6): socialActions, socialMetadata, share statistics.

Every number derives from `rules.share_statistics` of the post at the sandbox clock's time, so
the three views of one post agree at any moment (and grow together as the post ages).
Section numbers (§) refer to docs/contracts/.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request

from briefcast.sandbox import linkedin_rules as rules

FINDER_UNRESOLVED = "Resource method could not be resolved from request parameters."


def social_actions(urn: str, stats: Mapping[str, Any]) -> dict[str, Any]:
    """§3.6 socialActions shape [C/I] of one post's `stats`."""
    return {
        "target": urn,
        "likesSummary": {
            "totalLikes": stats["likeCount"],
            "likedByCurrentUser": False,
            "aggregatedTotalLikes": stats["likeCount"],
        },
        "commentsSummary": {
            "totalFirstLevelComments": stats["commentCount"] * 2 // 3,
            "aggregatedTotalComments": stats["commentCount"],
        },
    }


def social_metadata(urn: str, stats: Mapping[str, Any]) -> dict[str, Any]:
    """§3.6 socialMetadata shape [C] of one post's `stats`."""
    praise = stats["likeCount"] // 5  # reactions split across §3.6 types; the total is likes
    counts = {"LIKE": stats["likeCount"] - praise, "PRAISE": praise}
    return {
        "entity": urn,
        "commentsState": "OPEN",
        "reactionSummaries": {
            kind: {"reactionType": kind, "count": n} for kind, n in counts.items() if n
        },
        "commentSummary": {
            "count": stats["commentCount"],
            "topLevelCount": stats["commentCount"] * 2 // 3,
        },
    }


def analytics_router(
    current_posts: Callable[[], Mapping[str, rules.Post]], now: Callable[[], float]
) -> APIRouter:
    """Routes relative to `/rest`; the caller adds the prefix and the header checks.
    `current_posts` is a getter because a sandbox reset replaces the post table; `now` reads
    the sandbox clock."""
    router = APIRouter()

    def stats(post: rules.Post) -> dict[str, Any]:
        return rules.post_statistics(post, now())

    @router.get("/socialActions/{urn}")
    async def get_social_actions(urn: str) -> dict[str, Any]:
        post = current_posts().get(urn)
        if post is None:
            raise rules.not_found(urn)
        return social_actions(urn, stats(post))

    @router.get("/socialMetadata")
    async def batch_social_metadata(ids: str = "") -> dict[str, Any]:
        # §3.6 batch `?ids=List(...)` → {"results": {urn: {...}}}; unknown URNs go to
        # Rest.li's `errors` map [I], so one ghost does not fail the whole batch.
        urns, posts = rules.parse_restli_list(ids), current_posts()
        return {
            "results": {u: social_metadata(u, stats(posts[u])) for u in urns if u in posts},
            "errors": {u: rules.not_found(u).body for u in urns if u not in posts},
        }

    @router.get("/socialMetadata/{urn}")
    async def get_social_metadata(urn: str) -> dict[str, Any]:
        post = current_posts().get(urn)
        if post is None:
            raise rules.not_found(urn)
        return social_metadata(urn, stats(post))

    @router.get("/organizationalEntityShareStatistics")
    async def share_statistics(request: Request) -> dict[str, Any]:
        q = request.query_params  # §3.6 finder q=organizationalEntity
        org, posts = q.get("organizationalEntity", ""), current_posts()
        if q.get("q") != "organizationalEntity" or not org.startswith("urn:li:organization:"):
            raise rules.illegal_argument(FINDER_UNRESOLVED)
        shares = [
            urn
            for key in ("shares", "ugcPosts")  # §3.6: ugcPosts=List(...) for ugcPost URNs
            if key in q
            for urn in rules.parse_restli_list(q[key])
        ]
        elements = [
            {
                "organizationalEntity": org,
                "share": s,
                "totalShareStatistics": stats(posts[s]),
            }
            for s in shares
            if s in posts and posts[s].author == org  # organic stats for the org's own posts
        ]
        return {"paging": {"start": 0, "count": 10, "links": []}, "elements": elements}

    return router
