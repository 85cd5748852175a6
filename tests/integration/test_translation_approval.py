"""Translations that wait for approval, through the HTTP API of an in-process daemon: a held
language is listed in ``GET /api/reviews`` with its own diff, ``POST /api/translations/{id}/approve``
(admin only) lays its ``/<lang>/`` onto the live release without touching the other languages, older
pending reviews of a language lapse, rejection closes one, and a language below ``min_completion``
is previewable but never queued."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from pipeline.app import create_app
from tests.conftest import tar_gz

pytestmark = pytest.mark.slow

ADMIN = {"Authorization": "Bearer t3-admin-token"}
READER = {"Authorization": "Bearer t3-read-token"}
SUBMIT = {"Authorization": "Bearer t3-submit-token", "Content-Type": "application/gzip"}


@pytest.fixture(autouse=True)
def tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRESSROOM_TOKENS", "boss:t3-admin-token:admin+submit+read,reader:t3-read-token:read,"
                                           "writer:t3-submit-token:submit+read")


def _cfg(make_config: Any, languages: dict[str, Any]) -> Any:
    return make_config(
        server={"auth": "token"},
        pipeline={"build": ["render_html", "deploy"], "translate": ["render_html", "deploy"]},
        site={"title": "T3", "languages": ["en", "de", "es"], "default_language": "en"},
        stages={"deploy": {"targets": {"staging": {}}}},
        languages=languages,
    )


def _site(version: str) -> dict[str, str | bytes]:
    return {"en/index.md": f"# Home\n\nHello {version}.\n", "en/guide.md": "# Guide\n\nRead me.\n",
            "de/index.md": f"# Start\n\nHallo {version}.\n", "de/guide.md": "# Anleitung\n\nLies mich.\n",
            "es/index.md": f"# Inicio\n\nHola {version}.\n"}


async def _get(client: Any, path: str, headers: dict[str, str] = ADMIN) -> Any:
    resp = await client.get(path, headers=headers)
    assert resp.status == 200, (path, resp.status, await resp.text())
    return await resp.json()


async def _build_with_translations(client: Any, version: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Submit, wait for the build and every translate child; (build status, language -> child status)."""
    job = await (await client.post("/api/builds", data=tar_gz(_site(version)), headers=SUBMIT)).json()
    assert "job_id" in job, job
    build = await _wait(client, job["job_id"])
    assert build["status"] == "COMPLETED", build["error"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        build = await _get(client, f"/api/builds/{job['job_id']}/status")
        children = build["translations"]
        if set(children) == {"de", "es"} and all(c["status"] in ("COMPLETED", "FAILED") for c in children.values()):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError(f"translate jobs never finished: {build['translations']}")
    done = {lang: await _get(client, f"/api/translations/{c['translation_id']}/status") for lang, c in children.items()}
    for lang, st in done.items():
        assert st["status"] == "COMPLETED", (lang, st["error"])
    return build, done


async def _wait(client: Any, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        st = await _get(client, f"/api/builds/{job_id}/status")
        if st["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
            return st  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} never finished")


async def _settled_review(client: Any, job_id: str) -> dict[str, Any]:
    """The review record, once the after-finish hook has written it (it may trail COMPLETED)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        st = await _get(client, f"/api/translations/{job_id}/status")
        if st.get("review"):
            return st  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError(f"translation {job_id} got no review")


async def _review_in(client: Any, job_id: str, state: str) -> dict[str, Any]:
    """The review once it reached ``state`` (lapsing happens after the newer job's end is stored)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        review = (await _get(client, f"/api/translations/{job_id}/status"))["review"] or {}
        if review.get("state") == state:
            return review  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError(f"review of {job_id} never became {state}")


def _live(data: Path, rel: str) -> Path:
    return data / "sites" / "staging" / "current" / rel


async def test_held_language_is_reviewed_with_its_diff_and_approval_publishes_only_it(
        aiohttp_client: Any, make_config: Any, tmp_path: Path) -> None:
    cfg = _cfg(make_config, {"de": {"auto_publish": False}})
    client = await aiohttp_client(create_app(cfg))
    data = tmp_path / "data"
    build, langs = await _build_with_translations(client, "one")

    # Spanish publishes at once (default auto_publish = true); German is held in its preview target.
    es, de = langs["es"], langs["de"]
    assert _live(data, "es/index.html").is_file() and _live(data, "en/guide/index.html").is_file()
    assert not _live(data, "de").exists()
    assert (data / "sites" / "translation-de" / "current" / "de" / "index.html").is_file()
    assert es.get("review") is None
    de = await _settled_review(client, de["job_id"])
    review = de["review"]
    assert review["state"] == "pending" and review["kind"] == "translation" and review["language"] == "de"
    assert review["target"] == "staging" and review["release_target"] == "translation-de"
    assert review["reason"] == "review_required" and review["build_id"] == build["job_id"]
    assert review["changes"]["added"] == 2 and review["changes"]["removed"] == 0  # nothing German is live yet
    assert str(tmp_path) not in str(review)

    # The review queue lists it (and only it); its diff preview opens.
    queue = (await _get(client, "/api/reviews", READER))["reviews"]
    assert [(r["job_id"], r["review"]["kind"]) for r in queue] == [(de["job_id"], "translation")]
    diff = await client.get(review["preview_url"], headers=READER)
    assert diff.status == 200
    assert "de/guide/" in await diff.text()

    # Approval is an admin's: reading or submitting is not enough; a job that is no translation is 404.
    assert (await client.post(f"/api/translations/{de['job_id']}/approve", headers=READER)).status == 403
    assert (await client.post(f"/api/translations/{de['job_id']}/approve",
                              headers={"Authorization": SUBMIT["Authorization"]})).status == 403
    assert (await client.post(f"/api/translations/{build['job_id']}/approve", headers=ADMIN)).status == 404
    resp = await client.post(f"/api/translations/{de['job_id']}/approve", headers=ADMIN)
    assert resp.status == 202, await resp.text()
    body = await resp.json()
    assert body["language"] == "de" and body["review"]["state"] == "approved" and body["review"]["decided_by"] == "boss"
    promoted = await _wait(client, body["promote_job"])
    assert promoted["status"] == "COMPLETED", promoted["error"]

    # Live now: German under /de/, English and Spanish as they were (the same files, hard-linked).
    assert "Hallo one" in _live(data, "de/index.html").read_text()
    assert "Hello one" in _live(data, "en/index.html").read_text()
    assert "Hola one" in _live(data, "es/index.html").read_text()
    after = await _get(client, f"/api/translations/{de['job_id']}/status")
    assert after["review"]["state"] == "promoted" and after["review"]["promote_job"] == body["promote_job"]
    assert (await _get(client, "/api/reviews"))["reviews"] == []
    served = await client.get("/sites/staging/de/")
    assert served.status == 200 and "Hallo one" in await served.text()

    # Twice is a conflict; a published language was never waiting.
    again = await client.post(f"/api/translations/{de['job_id']}/approve", headers=ADMIN)
    assert again.status == 409 and (await again.json())["error"]["code"] == "not_awaiting_review"
    assert (await client.post(f"/api/translations/{es['job_id']}/approve", headers=ADMIN)).status == 409


async def test_newer_run_supersedes_and_reject_closes(aiohttp_client: Any, make_config: Any, tmp_path: Path) -> None:
    cfg = _cfg(make_config, {"de": {"auto_publish": False}, "es": {"auto_publish": False}})
    client = await aiohttp_client(create_app(cfg))
    _, first = await _build_with_translations(client, "one")
    old_de = await _settled_review(client, first["de"]["job_id"])
    _, second = await _build_with_translations(client, "two")
    new_de = await _settled_review(client, second["de"]["job_id"])
    await _settled_review(client, second["es"]["job_id"])

    # The older German review lapsed: approving it would put older German live over the newer one.
    lapsed = await _review_in(client, old_de["job_id"], "superseded")
    assert lapsed["superseded_by"] == new_de["job_id"]
    await _review_in(client, first["es"]["job_id"], "superseded")
    queue = {r["job_id"] for r in (await _get(client, "/api/reviews"))["reviews"]}
    assert queue == {new_de["job_id"], second["es"]["job_id"]}

    # Reject one with a reason; the build approve route treats a translation the same way.
    resp = await client.post(f"/api/translations/{second['es']['job_id']}/reject", json={"reason": "wrong tone"},
                             headers=ADMIN)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["review"]["state"] == "rejected"
    resp = await client.post(f"/api/builds/{new_de['job_id']}/approve", headers=ADMIN)
    assert resp.status == 202, await resp.text()
    assert (await _wait(client, (await resp.json())["promote_job"]))["status"] == "COMPLETED"
    assert "Hallo two" in _live(tmp_path / "data", "de/index.html").read_text()
    assert not _live(tmp_path / "data", "es").exists()
    assert (await _get(client, "/api/reviews"))["reviews"] == []


async def test_below_min_completion_is_previewable_but_never_queued(aiohttp_client: Any, make_config: Any,
                                                                     tmp_path: Path) -> None:
    # Without the translate stage in the pipeline nothing counts as translated: completion 0%.
    cfg = _cfg(make_config, {"de": {"min_completion": 50, "auto_publish": False}})
    client = await aiohttp_client(create_app(cfg))
    _, langs = await _build_with_translations(client, "one")
    de = langs["de"]
    assert de["review"] is None
    assert (tmp_path / "data" / "sites" / "translation-de" / "current" / "de" / "index.html").is_file()
    assert not _live(tmp_path / "data", "de").exists()
    assert (await _get(client, "/api/reviews"))["reviews"] == []
    resp = await client.post(f"/api/translations/{de['job_id']}/approve", headers=ADMIN)
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "not_awaiting_review"



async def test_when_complete_and_min_completion_with_counted_pages(aiohttp_client: Any, make_config: Any,
                                                                   tmp_path: Path) -> None:
    # The translate stage counts: de has both pages (100%), es one of two (50%).
    cfg = make_config(
        server={"auth": "token"},
        pipeline={"build": ["render_html", "deploy"], "translate": ["translate", "render_html", "deploy"]},
        site={"title": "T3", "languages": ["en", "de", "es"], "default_language": "en"},
        stages={"deploy": {"targets": {"staging": {}}}},
        languages={"de": {"auto_publish": "when-complete"}, "es": {"auto_publish": "when-complete"}},
    )
    client = await aiohttp_client(create_app(cfg))
    _, langs = await _build_with_translations(client, "one")
    de, es = langs["de"], await _settled_review(client, langs["es"]["job_id"])
    assert de["review"] is None and _live(tmp_path / "data", "de/guide/index.html").is_file()
    assert es["review"]["reason"] == "incomplete" and es["review"]["translation"]["completion"] == 50.0
    assert es["review"]["translation"]["missing"] == 1 and not _live(tmp_path / "data", "es").exists()

    # Raising es's bar above its completion: the next run is previewable only, not queued, and the
    # older pending review lapses (approving it would publish older Spanish than the newest run).
    await client.close()
    cfg2 = cfg.model_copy(update={"languages": {**cfg.languages, "es": cfg.languages["es"].model_copy(
        update={"min_completion": 60.0})}})
    client2 = await aiohttp_client(create_app(cfg2))
    _, again = await _build_with_translations(client2, "two")
    assert again["es"]["review"] is None
    assert not _live(tmp_path / "data", "es").exists()
    lapsed = await _review_in(client2, es["job_id"], "superseded")
    assert lapsed["superseded_by"] == again["es"]["job_id"]
    assert (await _get(client2, "/api/reviews"))["reviews"] == []
