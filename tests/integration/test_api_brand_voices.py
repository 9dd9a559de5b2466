"""Brand voice CRUD through the API: validation, names, versions and tenant isolation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from briefcast.models import Brief
from briefcast.models.session import worker_session
from tests.integration.helpers import brief, row_counts
from tests.live import ApiAs

pytestmark = pytest.mark.integration

VOICE = {
    "name": "Playful",
    "tone": "playful, confident, eco-minded",
    "audience": "urban runners",
    "use_words": ["recycled", "comfort"],
    "avoid_words": ["cheap", "Cheap"],
    "competitors": ["Nike", "Adidas"],
    "emoji_policy": "sparing",
    "hashtag_sets": ["RunGreen", "#AutumnDrop"],
    "language": "en",
    "example_posts": ["Fresh kicks, clean oceans."],
    "sentiment_min": 0.1,
    "primary_color": "#2E7D32",
}


def _create(client: httpx.Client, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/brand-voices", json={**VOICE, **overrides})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_create_normalises_and_reads_back(api_as: ApiAs, org_token: str) -> None:
    client = api_as(org_token)
    created = _create(client)
    assert created["version"] == 1
    assert created["avoid_words"] == ["cheap"]  # case-insensitive duplicates collapse
    assert created["hashtag_sets"] == ["#RunGreen", "#AutumnDrop"]
    fetched = client.get(f"/api/v1/brand-voices/{created['id']}").json()
    assert fetched == created


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"tone": "x" * 501}, "tone"),
        ({"emoji_policy": "lots"}, "emoji_policy"),
        ({"hashtag_sets": ["not a tag"]}, "hashtag_sets.0"),
        ({"language": "English"}, "language"),
        ({"sentiment_min": 2}, "sentiment_min"),
        ({"primary_color": "green"}, "primary_color"),
        ({"avoid_words": ["w"] * 101}, "avoid_words"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_invalid_voice_is_422_with_the_field(
    api_as: ApiAs, org_token: str, overrides: dict[str, Any], field: str
) -> None:
    response = api_as(org_token).post("/api/v1/brand-voices", json={**VOICE, **overrides})
    assert response.status_code == 422
    body = response.json()
    assert body["error_code"] == "validation_error"
    assert field in [f["field"] for f in body["details"]["fields"]]


def test_duplicate_name_is_409(api_as: ApiAs, org_token: str) -> None:
    client = api_as(org_token)
    _create(client)
    response = client.post("/api/v1/brand-voices", json=VOICE)
    assert response.status_code == 409
    assert response.json()["error_code"] == "brand_voice_name_taken"


def test_patch_changes_only_what_is_sent_and_bumps_the_version(
    api_as: ApiAs, org_token: str
) -> None:
    client = api_as(org_token)
    created = _create(client)
    response = client.patch(
        f"/api/v1/brand-voices/{created['id']}", json={"tone": "calm", "competitors": []}
    )
    assert response.status_code == 200
    patched = response.json()
    assert (patched["tone"], patched["competitors"], patched["version"]) == ("calm", [], 2)
    assert patched["avoid_words"] == created["avoid_words"]
    nulled = client.patch(f"/api/v1/brand-voices/{created['id']}", json={"tone": None})
    assert nulled.status_code == 422


@pytest.mark.parametrize(("field", "limit"), [("use_words", 50), ("avoid_words", 100)])
def test_a_patch_over_the_item_limit_is_422_even_when_its_words_repeat(
    api_as: ApiAs, org_token: str, field: str, limit: int
) -> None:
    """The schema's maxItems counts what was sent, before duplicates collapse."""
    client = api_as(org_token)
    created = _create(client)
    url = f"/api/v1/brand-voices/{created['id']}"
    response = client.patch(url, json={field: ["same"] * (limit + 1)})
    assert response.status_code == 422, response.text
    assert field in [f["field"] for f in response.json()["details"]["fields"]]
    at_limit = client.patch(url, json={field: ["same"] * limit})
    assert at_limit.status_code == 200 and at_limit.json()[field] == ["same"]


def test_voices_are_invisible_to_other_organizations(
    api_as: ApiAs, org_token: str, other_org_token: str
) -> None:
    mine = _create(api_as(org_token))
    other = api_as(other_org_token)
    assert other.get("/api/v1/brand-voices").json() == {"items": []}
    assert other.get(f"/api/v1/brand-voices/{mine['id']}").status_code == 404
    assert other.patch(f"/api/v1/brand-voices/{mine['id']}", json={"tone": "x"}).status_code == 404
    refused = other.post("/api/v1/briefs", json=brief(brand_voice_id=mine["id"]))
    assert refused.status_code == 422
    assert refused.json()["error_code"] == "unknown_brand_voice"
    assert row_counts()["briefs"] == 0


def test_a_brief_naming_its_voice_takes_what_it_left_out(api_as: ApiAs, org_token: str) -> None:
    client = api_as(org_token)
    voice = _create(client)
    left_out = {"brand_voice", "audience"}
    body = {k: v for k, v in brief(brand_voice_id=voice["id"]).items() if k not in left_out}
    assert client.post("/api/v1/briefs", json=body).status_code == 202
    with worker_session() as session:
        saved = session.scalars(select(Brief)).one()
    assert str(saved.brand_voice_id) == voice["id"]
    assert (saved.brand_voice, saved.audience) == (VOICE["tone"], VOICE["audience"])
    assert saved.brand_color == "#2E7D32"
