"""Routing is pure: these tests check who gets which event, and what the stored payload holds."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline import config as config_mod
from pipeline.notify import errors, router, testing


def cfg(notify: dict[str, Any], **top: Any) -> config_mod.Config:
    return config_mod.parse({"notify": notify, **top})


SLACK = {"enabled": True, "channel": "#docs", "events": ["build.*", "review.requested"]}
EMAIL = {"enabled": True, "to": ["team@x.org"], "events": ["build.failed", "build.fixed"]}
HOOKS = [{"url": "https://hooks.example/a", "secret_env": "A", "events": ["build.completed", "build.failed"]},
         {"url": "https://hooks.example/b", "secret_env": "B", "events": ["audit.*"]}]


def event(etype: str, **kw: Any) -> dict[str, Any]:
    status = {"build.completed": "COMPLETED", "build.failed": "FAILED", "build.cancelled": "CANCELLED"}.get(etype, "PROCESSING")
    job = kw.pop("job", None) or testing.make_job("job-9", status=status, branch=kw.pop("branch", "main"))
    return {"type": etype, "job": job, "previous_status": kw.pop("previous_status", None), **kw}


def routes(deliveries: list[dict[str, Any]]) -> list[tuple[str, Any, str]]:
    return [(d["channel"], d["target"], d["event"]) for d in deliveries]


def test_failed_build_goes_to_slack_email_and_subscribed_webhook() -> None:
    plan = router.plan_deliveries(event("build.failed"), cfg({"slack": SLACK, "email": EMAIL, "webhooks": HOOKS}))
    assert routes(plan) == [("slack", "#docs", "build.failed"), ("email", ["team@x.org"], "build.failed"),
                            ("webhook", 0, "build.failed")]
    assert {d["thread_key"] for d in plan} == {"job-9"}
    assert plan[2]["payload"]["url"] == "https://hooks.example/a"


def test_completed_after_failure_is_fixed_for_channels_that_want_fixed() -> None:
    plan = router.plan_deliveries(event("build.completed", previous_status="FAILED"),
                                  cfg({"slack": SLACK, "email": EMAIL, "webhooks": HOOKS}))
    assert routes(plan) == [("slack", "#docs", "build.fixed"), ("email", ["team@x.org"], "build.fixed"),
                            ("webhook", 0, "build.completed")]


def test_plain_completed_is_not_mailed_with_default_email_events() -> None:
    plan = router.plan_deliveries(event("build.completed"), cfg({"slack": SLACK, "email": EMAIL}))
    assert routes(plan) == [("slack", "#docs", "build.completed")]


def test_internal_events_only_reach_slack_web_api() -> None:
    config = cfg({"slack": SLACK, "email": {**EMAIL, "events": ["*"]}, "webhooks": [{**HOOKS[0], "events": ["*"]}]})
    for etype in ("build.started", "build.stage"):
        plan = router.plan_deliveries(event(etype, stage="lint"), config)
        assert routes(plan) == [("slack", "#docs", etype)]


def test_unsubscribed_final_result_still_closes_the_thread_parent() -> None:
    config = cfg({"slack": {**SLACK, "events": ["build.failed"]}})
    plan = router.plan_deliveries(event("build.completed"), config)
    assert routes(plan) == [("slack", "#docs", "build.stage")]
    assert plan[0]["payload"]["job"]["status"] == "COMPLETED"
    assert routes(router.plan_deliveries(event("build.failed"), config)) == [("slack", "#docs", "build.failed")]


def test_no_thread_parent_when_slack_wants_no_build_results() -> None:
    config = cfg({"slack": {**SLACK, "events": ["review.requested"]}})
    assert router.plan_deliveries(event("build.started"), config) == []


def test_incoming_webhook_mode_gets_no_internal_events() -> None:
    config = cfg({"slack": {**SLACK, "webhook_url_env": "HOOK_URL"}})
    assert router.plan_deliveries(event("build.started"), config) == []
    assert routes(router.plan_deliveries(event("build.failed"), config)) == [("slack_webhook", "webhook", "build.failed")]


def test_branch_routing_picks_channel_and_recipients_and_filters_webhooks() -> None:
    config = cfg({
        "slack": {**SLACK, "branch_channels": {"release/*": "#release"}},
        "email": {**EMAIL, "branch_to": {"release/*": ["rm@x.org"]}},
        "webhooks": [{**HOOKS[0], "branches": ["main"]}],
    })
    plan = router.plan_deliveries(event("build.failed", branch="release/2.0"), config)
    assert routes(plan) == [("slack", "#release", "build.failed"), ("email", ["rm@x.org"], "build.failed")]
    plan = router.plan_deliveries(event("build.failed", branch="main"), config)
    assert routes(plan) == [("slack", "#docs", "build.failed"), ("email", ["team@x.org"], "build.failed"),
                            ("webhook", 0, "build.failed")]


def test_slack_branch_filter() -> None:
    config = cfg({"slack": {**SLACK, "branches": ["main"]}})
    assert router.plan_deliveries(event("build.failed", branch="feature/x"), config) == []


def test_language_owners_get_their_language_without_duplicates() -> None:
    config = cfg(
        {"slack": {**SLACK, "events": ["*"]}, "email": {**EMAIL, "events": ["translation.*"]}},
        languages={"es": {"owners_slack": ["#es-team", "#docs"], "owners_email": ["ana@x.org", "team@x.org"]}},
    )
    plan = router.plan_deliveries(event("translation.ready", language="es", build_id="job-1"), config)
    assert routes(plan) == [("slack", "#docs", "translation.ready"), ("email", ["team@x.org"], "translation.ready"),
                            ("slack", "#es-team", "translation.ready"), ("email", ["ana@x.org"], "translation.ready")]
    assert {d["thread_key"] for d in plan} == {"job-1"}
    assert plan[2]["payload"]["language"] == "es"


def test_owner_event_filter() -> None:
    config = cfg({"slack": SLACK}, languages={"es": {"owners_slack": ["#es-team"], "owner_events": ["translation.*"]}})
    job = testing.make_job("t-1", status="FAILED", kind="translate", language="es")
    assert routes(router.plan_deliveries(event("build.failed", job=job), config)) == [("slack", "#docs", "build.failed")]


def test_idempotency_keys_are_stable_and_distinct() -> None:
    config = cfg({"slack": SLACK, "email": EMAIL, "webhooks": HOOKS})
    first = router.plan_deliveries(event("build.failed"), config)
    again = router.plan_deliveries(event("build.failed"), config)
    assert [d["idempotency_key"] for d in first] == [d["idempotency_key"] for d in again]
    assert len({d["idempotency_key"] for d in first}) == len(first)
    with_id = router.plan_deliveries(event("build.failed", event_id=41), config)
    other_id = router.plan_deliveries(event("build.failed", event_id=42), config)
    assert {d["idempotency_key"] for d in with_id}.isdisjoint(d["idempotency_key"] for d in other_id)


def test_each_stage_transition_has_its_own_key() -> None:
    config = cfg({"slack": SLACK})
    one = router.plan_deliveries(event("build.stage", stage="lint", job=testing.make_job(stages={"lint": "passed", "deploy": "pending"})), config)
    two = router.plan_deliveries(event("build.stage", stage="deploy", job=testing.make_job(stages={"lint": "passed", "deploy": "passed"})), config)
    assert one[0]["idempotency_key"] != two[0]["idempotency_key"]
    assert one[0]["payload"]["thread"]["rank"] < two[0]["payload"]["thread"]["rank"]


def test_payload_is_json_self_contained_and_scrubbed() -> None:
    job = testing.make_job("job-9", status="FAILED", read_token="tok-SECRET", artifacts={"pdf": {"en": "/api/builds/job-9/artifacts/out/pdf/en.pdf"}},
                           error={"code": "stage_timeout", "message": "slow", "stage": "render_pdf", "runbook": "docs/errors.md#stage_timeout"})
    job["trigger"]["api_token"] = "tok-SECRET2"
    ev = event("build.failed", job=job, log_tail=[f"line {i}" for i in range(50)], audit={"password": "x", "pages": 3})
    config = cfg({"slack": SLACK}, server={"public_url": "https://press.example/"})
    [plan] = router.plan_deliveries(ev, config)
    text = json.dumps(plan)
    assert "SECRET" not in text and '"password"' not in text
    payload = plan["payload"]
    assert payload["log_tail"] == [f"line {i}" for i in range(30, 50)]
    assert payload["job"]["artifacts"]["pdf"]["en"] == "https://press.example/api/builds/job-9/artifacts/out/pdf/en.pdf"
    assert payload["job"]["error"]["runbook"] == "https://press.example/docs/errors.md#stage_timeout"
    assert payload["links"]["status"] == "https://press.example/api/builds/job-9/status"
    assert payload["details"] == {"audit": {"pages": 3}}
    ev["job"]["status"] = "CHANGED"
    assert payload["job"]["status"] == "FAILED"


@pytest.mark.parametrize("bad", [{"type": "build.exploded", "job": testing.make_job()}, {"type": "build.failed", "job": {}}])
def test_bad_events_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(errors.RouteError):
        router.plan_deliveries(bad, cfg({"slack": SLACK}))


def test_disabled_channels_plan_nothing() -> None:
    assert router.plan_deliveries(event("build.failed"), cfg({})) == []
