"""Copy worth posting, through the live stack and the OpenAI sandbox: rules, repair,
fallbacks, the cache, the gate's loop and review, and the budget."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from briefcast.pipeline.copy.factory import _chain
from briefcast.settings import get_settings
from tests.integration.live import submit, wait_for
from tests.live import Live

pytestmark = pytest.mark.integration


def _completions(live: Live) -> list[dict[str, Any]]:
    rows = httpx.get(f"{live.openai_url}/_sandbox/records").json()
    return [r for r in rows if r["path"] == "/v1/chat/completions"]


def _fault(live: Live, **spec: Any) -> None:
    spec = {"method": "POST", "path": "/v1/chat/completions$", **spec}
    httpx.post(f"{live.openai_url}/_sandbox/faults", json=spec).raise_for_status()


def _voice(client: httpx.Client, **overrides: Any) -> str:
    body = {"name": "Voice", "tone": "playful", "avoid_words": ["cheap"],
            "competitors": ["Nike"], "sentiment_min": 0.0, **overrides}  # fmt: skip
    response = client.post("/api/v1/brand-voices", json=body)
    assert response.status_code == 201, response.text
    voice_id: str = response.json()["id"]
    return voice_id


def test_variants_are_parsed_rule_abiding_and_the_first_is_published(
    live: Live, client: httpx.Client
) -> None:
    view = wait_for(client, submit(client, variants=2))
    assert view["status"] == "published"
    for post in view["posts"]:
        assert len(post["copy_variants"]) == 2
        assert post["caption"] == post["copy_variants"][0]["caption"]
        limit = 2200 if post["platform"] == "instagram" else 3000
        assert len(post["caption"]) <= limit
        assert all(tag.startswith("#") for tag in post["hashtags"])
    assert view["copy"]["source"] == "openai:gpt-4o-mini-2024-07-18"
    assert view["usage"]["prompt_tokens"] > 0 and float(view["usage"]["cost_usd"]) > 0


def _completion_body(caption: str) -> dict[str, Any]:
    draft = {"caption": caption, "hashtags": ["#Autumn"], "headline": "Autumn",
             "alt_text": "Sneakers", "call_to_action": "Shop now"}  # fmt: skip
    content = json.dumps({"instagram": [draft], "linkedin": [draft]})
    return {
        "id": "chatcmpl-scripted", "object": "chat.completion", "created": 1767225600,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": content, "refusal": None}}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
    }  # fmt: skip


def test_an_over_long_caption_is_repaired(live: Live, client: httpx.Client) -> None:
    _fault(live, status=200, body=_completion_body("Too long. " * 300))  # 3,000 characters
    view = wait_for(client, submit(client))
    assert view["status"] == "published"
    calls = _completions(live)
    assert len(calls) == 2  # the answer, then the repair request
    assert all(len(p["caption"]) <= 2200 for p in view["posts"])
    assert view["copy"]["source"] == "openai:gpt-4o-mini-2024-07-18"


def test_insufficient_quota_falls_back_to_offline_and_says_so(
    live: Live, client: httpx.Client
) -> None:
    quota = {"error": {"message": "You exceeded your current quota.", "type": "insufficient_quota",
                       "param": None, "code": "insufficient_quota"}}  # fmt: skip
    _fault(live, status=429, body=quota)
    view = wait_for(client, submit(client))
    assert view["status"] == "published"
    assert view["copy"]["source"] == "offline-copywriter"
    assert "insufficient_quota" in view["copy"]["fallback_reason"]
    assert len(_completions(live)) == 1  # no retry, and the fallback model was skipped
    assert all(p["copy_source"] == "offline-copywriter" for p in view["posts"])


def test_an_identical_brief_is_served_from_the_cache(live: Live, client: httpx.Client) -> None:
    first = wait_for(client, submit(client, topic="Cached launch day"))
    assert first["status"] == "published"
    before = len(_completions(live))
    live.reset_sandboxes()  # LinkedIn would refuse the same post twice
    second = wait_for(client, submit(client, topic="Cached launch day"))
    assert second["status"] == "published"
    assert len(_completions(live)) == 0 and before == 1
    assert second["usage"]["cached_calls"] == 1 and float(second["usage"]["cost_usd"]) == 0
    assert [p["caption"] for p in second["posts"]] == [p["caption"] for p in first["posts"]]


def test_a_voice_edit_invalidates_cached_copy(live: Live, client: httpx.Client) -> None:
    voice_id = _voice(client)
    wait_for(client, submit(client, brand_voice_id=voice_id, topic="Voice cache"))
    client.patch(f"/api/v1/brand-voices/{voice_id}", json={"tone": "calm"})
    live.reset_sandboxes()
    wait_for(client, submit(client, brand_voice_id=voice_id, topic="Voice cache"))
    assert len(_completions(live)) == 1


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        (
            {"key_points": ["So cheap you will not believe it"]},
            "uses words the brand avoids: cheap",
        ),
        ({"key_points": ["Lighter than anything Nike makes"]}, "names a competitor: nike"),
        ({"topic": "This awful, hateful, terrible launch"}, "is below the brand's minimum"),
    ],
)
def test_unsafe_copy_is_regenerated_then_waits_for_review(
    live: Live, client: httpx.Client, overrides: dict[str, Any], reason: str
) -> None:
    view = wait_for(client, submit(client, brand_voice_id=_voice(client), **overrides))
    assert view["status"] == "needs_review"
    assert reason in view["status_reason"]
    assert view["copy"]["regenerations"] == 2
    assert len(_completions(live)) == 3  # the first attempt and two rewrites with feedback
    assert "Put right" in _completions(live)[-1]["body"]["messages"][1]["content"]


def test_approving_with_edits_publishes_and_rejecting_ends_the_run(
    live: Live, client: httpx.Client
) -> None:
    voice_id = _voice(client)
    cheap = {"key_points": ["So cheap you will not believe it"], "brand_voice_id": voice_id}
    run_id = submit(client, **cheap)
    assert wait_for(client, run_id)["status"] == "needs_review"

    still_bad = {"instagram": {"caption": "Still cheap, sorry"}}
    refused = client.post(
        f"/api/v1/runs/{run_id}/review", json={"decision": "approve", "edits": still_bad}
    )
    assert refused.status_code == 422
    assert refused.json()["error_code"] == "edited_copy_rejected"

    # The hashtags the model drew from the brief carried the avoided word too: edit both.
    good = {
        "caption": "Our autumn sneakers are here: recycled, light and comfortable.",
        "hashtags": ["#Autumn"],
    }
    approved = client.post(
        f"/api/v1/runs/{run_id}/review",
        json={"decision": "approve", "edits": {"instagram": good, "linkedin": good}},
    )
    assert approved.status_code == 200 and approved.json()["status"] == "rendering"
    view = wait_for(client, run_id)
    assert view["status"] == "published"
    assert {p["caption"] for p in view["posts"]} == {good["caption"]}
    assert len(live.sandbox_posts("instagram")) == 1

    again = client.post(f"/api/v1/runs/{run_id}/review", json={"decision": "reject"})
    assert again.status_code == 409

    other = submit(
        client, topic="Another cheap idea", **{k: v for k, v in cheap.items() if k != "topic"}
    )
    assert wait_for(client, other)["status"] == "needs_review"
    rejected = client.post(
        f"/api/v1/runs/{other}/review", json={"decision": "reject", "note": "off-brand"}
    )
    assert rejected.json()["status"] == "rejected"
    view = client.get(f"/api/v1/runs/{other}").json()
    assert (view["status"], view["status_reason"]) == ("rejected", "rejected at review: off-brand")


@pytest.fixture
def budget_action(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    def set_action(action: str) -> None:
        monkeypatch.setenv("BUDGET_EXHAUSTED_ACTION", action)
        get_settings.cache_clear()
        _chain.cache_clear()

    yield set_action
    os.environ.pop("BUDGET_EXHAUSTED_ACTION", None)
    get_settings.cache_clear()


@pytest.mark.parametrize("action", ["offline", "stop"])
def test_budget_exhaustion_behaves_as_configured(
    live: Live, client: httpx.Client, budget_action: Any, action: str
) -> None:
    budget_action(action)
    assert client.put("/api/v1/usage/budget", json={"monthly_budget_usd": 0}).status_code == 200
    view = wait_for(client, submit(client))
    assert len(_completions(live)) == 0
    if action == "offline":
        assert view["status"] == "published"
        assert view["copy"]["source"] == "offline-copywriter"
        assert "budget" in view["copy"]["fallback_reason"]
    else:
        assert view["status"] == "budget_exhausted"
        assert "budget" in view["status_reason"]
    usage = client.get("/api/v1/usage").json()
    assert float(usage["budget_usd"]) == 0 and float(usage["budget_left_usd"]) <= 0


MARKED_UP = {
    "topic": "<b>Autumn</b> drop <script>alert('x')</script>is here",
    "key_points": [
        "<i>Recycled</i> ocean plastic",
        "&lt;img src=x onerror=alert(1)&gt;Free returns",
    ],
    "brand_voice": "<em>playful</em>, confident",
    "audience": "<a href='https://evil.example'>runners</a>",
    "template": "quote",
    "quote": "<marquee>Run</marquee> further",
    "attribution": "<u>Coach</u> Mia",
}


def test_markup_in_the_brief_never_reaches_the_prompt_the_caption_or_the_image(
    live: Live, client: httpx.Client
) -> None:
    from sqlalchemy import select

    from briefcast.models import Brief
    from briefcast.models.session import worker_session

    view = wait_for(client, submit(client, **MARKED_UP))
    assert view["status"] == "published"
    (call,) = _completions(live)
    prompt = "\n".join(m["content"] for m in call["body"]["messages"])
    # Only the prompt's own delimiters are tags; the brief's words arrive as plain text.
    tags = {t for t in re.findall(r"</?[a-z_]+", prompt)}
    assert tags <= {"<brief", "</brief", "<recent_posts", "</recent_posts"}
    assert "Autumn drop is here" in prompt and "Recycled ocean plastic" in prompt
    assert "alert" not in prompt and "evil.example" not in prompt
    with worker_session() as session:  # what the image is drawn from
        brief = session.scalars(select(Brief)).one()
        drawn = [brief.topic, brief.quote, brief.attribution, *brief.key_points]
    assert drawn == ["Autumn drop is here", "Run further", "Coach Mia",
                     "Recycled ocean plastic", "Free returns"]  # fmt: skip
    for post in view["posts"]:
        assert "<" not in post["caption"] + post["headline"]


def test_a_model_reply_with_markup_is_stored_as_plain_text(
    live: Live, client: httpx.Client
) -> None:
    _fault(
        live, status=200, body=_completion_body("<script>alert(1)</script>Autumn is <b>here</b>")
    )
    view = wait_for(client, submit(client))
    assert view["status"] == "published"
    assert {p["caption"] for p in view["posts"]} == {"Autumn is here"}
