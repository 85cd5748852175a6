"""``translation.ready`` reaches that language's owners and nobody else: a real in-process daemon
builds a three-language site, mails go through a real SMTP server (aiosmtpd) and Slack messages
to the local Web API stub. Plus the routing and rendering rules on their own."""

from __future__ import annotations

import asyncio
import re
import time
from email.message import EmailMessage
from typing import Any

import pytest

from pipeline import config as config_mod
from pipeline.app import create_app
from pipeline.notify import render, router, testing
from tests.conftest import GZ, tar_gz, wait_finished
from tests.notify import peers
from tests.notify.helpers import SLACK_TOKEN

ANA = "U024BE7LH"
CHANNELS = {"#docs": "C0DOCS", "#de-team": "C0DE", "#es-team": "C0ES", ANA: "D0ANA"}


async def _drain(client: Any, want: int, timeout: float = 60) -> list[dict[str, Any]]:
    """All deliveries once at least ``want`` exist and none is pending or running."""
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = await (await client.get("/api/deliveries?limit=200")).json()
        found = body["deliveries"]
        if len(found) >= want and all(d["status"] in ("COMPLETED", "FAILED") for d in found):
            return found  # type: ignore[no-any-return]
        await asyncio.sleep(0.1)
    raise AssertionError(f"deliveries never settled: {body}")


def _text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


@pytest.mark.slow
async def test_owners_get_their_language_and_nobody_else(aiohttp_client: Any, make_config: Any,
                                                         smtp_factory: Any) -> None:
    slack = peers.FakeSlack(token=SLACK_TOKEN, channels=dict(CHANNELS))
    await slack.start()
    smtp = smtp_factory()
    try:
        cfg = make_config(
            pipeline={"build": ["render_html", "deploy"], "translate": ["translate", "render_html", "deploy"]},
            site={"title": "T3", "languages": ["en", "de", "es"], "default_language": "en"},
            stages={"deploy": {"targets": {"staging": {}}}},
            notify={"backoff_base": 0.05, "backoff_max": 0.2, "max_attempts": 3,
                    "slack": {"enabled": True, "token_env": "TEST_SLACK_TOKEN", "base_url": slack.base_url,
                              "channel": "#docs", "timeout": 5},
                    "email": {"enabled": True, "host": "127.0.0.1", "port": smtp.port, "timeout": 5,
                              "to": ["writers@docs.example"], "events": ["build.*"]}},
            languages={"de": {"auto_publish": False, "owners_slack": ["#de-team", ANA],
                              "owners_email": ["de-owner@docs.example"]},
                       "es": {"owners_slack": ["#es-team"], "owners_email": ["es-owner@docs.example"]}},
        )
        client = await aiohttp_client(create_app(cfg))
        files: dict[str, str | bytes] = {"en/index.md": "# Home\n", "en/guide.md": "# Guide\n", "de/index.md": "# Start\n", "es/index.md": "# Inicio\n"}
        job = await (await client.post("/api/builds", data=tar_gz(files), headers=GZ)).json()
        build = await wait_finished(client, job["job_id"])
        assert build["status"] == "COMPLETED", build["error"]
        deadline = time.monotonic() + 60
        while {t["status"] for t in build["translations"].values()} != {"COMPLETED"} or len(build["translations"]) < 2:
            assert time.monotonic() < deadline, build["translations"]
            await asyncio.sleep(0.1)
            build = await wait_finished(client, job["job_id"])
        trn = {lang: t["translation_id"] for lang, t in build["translations"].items()}
        # Build: Slack started, 2 stages, completed + the completed mail. Each language: translation.ready
        # in the build thread, the owner channel and the owner mail; German review.requested the same.
        deliveries = await _drain(client, want=14)
        assert all(d["status"] == "COMPLETED" for d in deliveries), [d for d in deliveries if d["status"] != "COMPLETED"]

        # Email: each owner gets their own language; the build list gets no translation mail.
        mails = list(smtp.unique().values())
        ready = {tuple(m.rcpt_tos): m.message for m in mails if "Translation" in m.message["Subject"]
                 and "approval" not in m.message["Subject"].split(":", 1)[0]}
        by_rcpt = {rcpt: [m.message["Subject"] for m in mails if tuple(m.rcpt_tos) == rcpt] for rcpt in
                   {tuple(m.rcpt_tos) for m in mails}}
        assert not any("Translation" in s for s in by_rcpt.get(("writers@docs.example",), [])), by_rcpt
        de_mail = ready[("de-owner@docs.example",)]
        es_mail = ready[("es-owner@docs.example",)]
        assert "Translation de:" in de_mail["Subject"] and "waits for approval" in de_mail["Subject"]
        assert "Translation es:" in es_mail["Subject"] and "published" in es_mail["Subject"]
        de_text, es_text = _text(de_mail), _text(es_mail)
        for text in (de_text, es_text):  # one of two pages translated, as the translate stage counted
            for line in ("Completion:   50.0%", "Source pages: 2", "Translated:   1", "Stale:        0",
                         "Missing:      1", "Machine:      0"):
                assert line in text, text
        assert re.search(r"Preview: +http://127.0.0.1:\d+/sites/translation-de/de/", de_text) and "Live:" not in de_text
        assert f"/api/builds/{trn['de']}/artifacts/reports/translation-diff.html" in de_text
        assert re.search(r"Live: +http://127.0.0.1:\d+/sites/staging/es/", es_text) and "Preview:" not in es_text
        assert "es" not in {m.message["Subject"].split(":")[0][-2:] for m in mails if "de-owner" in m.rcpt_tos[0]}
        review_mails = [m for m in mails if "waits for approval" in m.message["Subject"] and "Translation de of build" in
                        m.message["Subject"]]
        assert [tuple(m.rcpt_tos) for m in review_mails] == [("de-owner@docs.example",)]

        # Slack: replies in the build's thread in #docs (German mentions Ana), a copy in each owner
        # channel, nothing sent to Ana directly, and the thread parent still shows the build.
        messages = slack.unique()
        parent = next(m for m in messages if m.channel == "C0DOCS" and m.thread_ts is None)
        assert f"Build {job['job_id']} completed" in parent.text, parent.text
        thread = [m for m in messages if m.channel == "C0DOCS" and m.thread_ts == parent.ts]
        de_reply = next(m for m in thread if "Translation de of build" in m.text and "is ready" in m.text)
        es_reply = next(m for m in thread if "Translation es of build" in m.text)
        assert f"<@{ANA}>" in de_reply.text and "<@" not in es_reply.text
        assert any("Translation de of build" in m.text and "waits for approval" in m.text and f"<@{ANA}>" in str(m.blocks)
                   for m in thread if m is not de_reply)
        assert {m.channel for m in messages if "Translation de" in m.text} == {"C0DOCS", "C0DE"}
        assert {m.channel for m in messages if "Translation es" in m.text} == {"C0DOCS", "C0ES"}
        assert not [m for m in messages if m.channel == "D0ANA"]
    finally:
        await slack.stop()


def _cfg(**top: Any) -> config_mod.Config:
    return config_mod.parse({"notify": {"slack": {"enabled": True, "channel": "#docs", "events": ["build.*"]},
                                        "email": {"enabled": True, "to": ["team@x.org"], "events": ["build.*"]},
                                        "webhooks": [{"url": "https://hooks.example/a", "secret_env": "A",
                                                      "events": ["build.*"]}]}, **top})


def _ready(lang: str, **translation: Any) -> dict[str, Any]:
    job = testing.make_job("trn_1", status="COMPLETED", kind="translate", parent_id="bld_1")
    counts = {"language": lang, "completion": 75.0, "translated": 30, "stale": 2, "missing": 6, "machine": 2,
              "source_pages": 40, "published": False, "needs_review": True, "reason": "machine_pages",
              "preview_url": f"http://sites.example/sites/translation-{lang}/{lang}/", **translation}
    return {"type": "translation.ready", "job": job, "language": lang, "build_id": "bld_1", "translation": counts}


def _routes(plan: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    return [(d["channel"], d["target"]) for d in plan]


def test_ready_goes_to_owners_in_the_build_thread_with_people_mentioned() -> None:
    cfg = _cfg(languages={"de": {"owners_slack": ["#de-team", ANA, "<@W0BOB>"], "owners_email": ["ana@x.org"]},
                          "es": {"owners_email": ["es@x.org"]}})
    plan = router.plan_deliveries(_ready("de"), cfg)
    assert _routes(plan) == [("slack", "#docs"), ("slack", "#de-team"), ("email", ["ana@x.org"])]
    assert plan[0]["payload"]["mentions"] == [f"<@{ANA}>", "<@W0BOB>"] and "mentions" not in plan[1]["payload"]
    assert {d["thread_key"] for d in plan} == {"bld_1"}


def test_language_without_owners_or_events_tells_nobody() -> None:
    assert router.plan_deliveries(_ready("fr"), _cfg()) == []
    quiet = _cfg(languages={"de": {"owners_slack": ["#de-team"], "owners_email": ["a@x.org"], "owner_events": ["build.*"]}})
    assert router.plan_deliveries(_ready("de"), quiet) == []


def test_owner_email_only_gets_no_slack() -> None:
    plan = router.plan_deliveries(_ready("es"), _cfg(languages={"es": {"owners_email": ["es@x.org"]}}))
    assert _routes(plan) == [("email", ["es@x.org"])]


def test_ready_renders_counts_and_urls() -> None:
    cfg = _cfg(languages={"de": {"owners_slack": [ANA], "owners_email": ["ana@x.org"]}})
    plan = router.plan_deliveries(_ready("de", diff_url="http://press.example/diff"), cfg)
    message = render.render_slack(plan[0]["payload"], part="reply", config=cfg, secrets=[])
    assert message["text"].startswith(f"<@{ANA}> Translation de of build bld_1 is ready: waits for approval")
    assert "30 translated, 2 stale, 6 missing, 2 machine-translated of 40 pages" in message["text"]
    links = message["blocks"][-1]["elements"][0]["text"]
    assert "<http://sites.example/sites/translation-de/de/|Preview de>" in links and "Diff against live" in links
    subject, text, html = render.render_email(plan[-1]["payload"], config=cfg, secrets=[])
    assert subject == "[Documentation] Translation de: 75.0% complete, waits for approval"
    assert "Completion:   75.0%" in text and "Preview:      http://sites.example/sites/translation-de/de/" in text
    assert "<td>6</td>" in html


def test_published_language_links_live_site() -> None:
    cfg = _cfg(languages={"es": {"owners_email": ["es@x.org"]}})
    event = _ready("es", published=True, needs_review=False, reason="auto_publish", preview_url=None,
                   live_url="http://sites.example/sites/staging/es/")
    subject, text, _ = render.render_email(router.plan_deliveries(event, cfg)[0]["payload"], config=cfg, secrets=[])
    assert subject.endswith("published") and "Live:         http://sites.example/sites/staging/es/" in text
    assert "Preview:" not in text


def test_publishing_an_approved_translation_replies_in_its_build_thread() -> None:
    cfg = config_mod.parse({"notify": {"email": {"enabled": True, "to": ["team@x.org"], "events": ["promote.*"]}}})
    job = testing.make_job("prm_1", status="COMPLETED", kind="promote", target="staging", branch=None)
    job["trigger"] = {"kind": "promotion", "build_id": "trn_1", "language": "de", "parent_build": "bld_1"}
    plan = router.plan_deliveries({"type": "promote.completed", "job": job}, cfg)
    assert [d["thread_key"] for d in plan] == ["bld_1"]
    subject, _, _ = render.render_email(plan[0]["payload"], config=cfg, secrets=[])
    assert subject == "[Documentation] Translation de of build bld_1 is live on staging"
