"""Email through a real aiosmtpd server: plain, STARTTLS and implicit TLS, with and without AUTH."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipeline.notify import deliver, errors, router, testing
from tests.notify import peers
from tests.notify.helpers import SMTP_PASSWORD, SMTP_USER, build_events, make_config

SmtpFactory = Callable[..., peers.SmtpPeer]
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def mail_deliveries(config: Any, job_id: str = "job-1") -> list[dict[str, Any]]:
    return [d for e in build_events(job_id, fail=True) for d in router.plan_deliveries(e, config) if d["channel"] == "email"]


@pytest.mark.parametrize(("tls", "auth"), [("none", False), ("none", True), ("starttls", False), ("starttls", True), ("implicit", True)])
async def test_multipart_mail_arrives(smtp_factory: SmtpFactory, ca_file: Path, tls: str, auth: bool) -> None:
    smtp = smtp_factory(tls=tls, auth=auth)
    config = make_config(smtp=smtp, ca_file=ca_file)
    [delivery] = mail_deliveries(config)
    result = await deliver.send(delivery, config=config, refs=testing.MemoryRefStore())

    [mail] = smtp.received
    msg = mail.message
    assert result == {"message_id": f"<{delivery['idempotency_key']}@docs.example>"}
    assert msg["Message-ID"] == result["message_id"]
    assert msg["Subject"] == "[Documentation] Build job-1 failed in linkcheck (main)"
    assert msg["From"] == "pressroom@docs.example" and mail.rcpt_tos == ["writers@docs.example"]
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert "links_broken" in text.get_content() and "<h2" in html.get_content()
    assert mail.tls is (tls != "none")
    if auth:
        assert mail.login is not None and mail.login.login.decode() == SMTP_USER
    assert SMTP_PASSWORD not in msg.as_string()


async def test_mails_of_one_build_thread_together(smtp_factory: SmtpFactory) -> None:
    smtp = smtp_factory()
    config = make_config(smtp=smtp, notify_overrides={"email": {"events": ["build.*", "review.requested"]}})
    refs = testing.MemoryRefStore()
    review = {"type": "review.requested", "job": testing.make_job("job-1", status="PROCESSING")}
    deliveries = [*router.plan_deliveries(review, config), *mail_deliveries(config)]
    other = mail_deliveries(config, "job-2")
    for d in [*deliveries, *other]:
        await deliver.send(d, config=config, refs=refs)
    first, second, third = (m.message for m in smtp.received)
    assert first["In-Reply-To"] is None
    assert second["In-Reply-To"] == first["Message-ID"] == second["References"]
    assert third["In-Reply-To"] is None and third["Message-ID"] != first["Message-ID"]


async def test_refused_recipient_is_permanent(smtp_factory: SmtpFactory) -> None:
    smtp = smtp_factory()
    smtp.refuse.add("writers@docs.example")
    config = make_config(smtp=smtp)
    driver = testing.RetryDriver(config=config, refs=testing.MemoryRefStore())
    driver.add(mail_deliveries(config))
    await driver.run()
    [item] = driver.dead
    assert item.attempts == 1
    assert item.error == {"code": "recipient_refused",
                          "message": "SMTP server refused the recipients: writers@docs.example: 550 5.1.1 mailbox unavailable"}


async def test_partly_refused_recipients_still_deliver(smtp_factory: SmtpFactory) -> None:
    smtp = smtp_factory()
    smtp.refuse.add("gone@docs.example")
    config = make_config(smtp=smtp, notify_overrides={"email": {"to": ["writers@docs.example", "gone@docs.example"]}})
    [delivery] = mail_deliveries(config)
    result = await deliver.send(delivery, config=config, refs=testing.MemoryRefStore())
    assert result["refused"] == {"gone@docs.example": "550 5.1.1 mailbox unavailable"}
    assert smtp.received[0].rcpt_tos == ["writers@docs.example"]


async def test_wrong_password_is_permanent_and_not_leaked(smtp_factory: SmtpFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    smtp = smtp_factory(auth=True)
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong-password-99")
    config = make_config(smtp=smtp)
    [delivery] = mail_deliveries(config)
    with pytest.raises(errors.PermanentDeliveryError) as info:
        await deliver.send(delivery, config=config, refs=testing.MemoryRefStore())
    assert info.value.code == "smtp_auth_failed"
    assert "wrong-password-99" not in info.value.message
    assert smtp.received == []


async def test_untrusted_certificate_is_a_clear_error(smtp_factory: SmtpFactory) -> None:
    smtp = smtp_factory(tls="starttls")
    config = make_config(smtp=smtp)  # no ca_file: the test CA is not trusted
    [delivery] = mail_deliveries(config)
    with pytest.raises(errors.PermanentDeliveryError) as info:
        await deliver.send(delivery, config=config, refs=testing.MemoryRefStore())
    assert info.value.code == "smtp_tls_failed"
    assert "CERTIFICATE_VERIFY_FAILED" in info.value.message


async def test_starttls_demanded_but_not_offered(smtp_factory: SmtpFactory) -> None:
    smtp = smtp_factory(tls="none")
    config = make_config(smtp=smtp, notify_overrides={"email": {"tls": "starttls"}})
    [delivery] = mail_deliveries(config)
    with pytest.raises(errors.PermanentDeliveryError) as info:
        await deliver.send(delivery, config=config, refs=testing.MemoryRefStore())
    assert info.value.code == "smtp_unsupported"


async def test_message_rejected_at_data_is_permanent(smtp_factory: SmtpFactory) -> None:
    smtp = smtp_factory()
    smtp.faults = ["554"]
    config = make_config(smtp=smtp)
    driver = testing.RetryDriver(config=config, refs=testing.MemoryRefStore())
    driver.add(mail_deliveries(config))
    await driver.run()
    [item] = driver.dead
    assert item.attempts == 1
    assert item.error == {"code": "smtp_rejected", "message": "SMTP server answered 554 5.7.1 message rejected as spam"}
