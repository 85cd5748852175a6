"""Email through aiosmtplib: one multipart (text + HTML) mail per delivery, threaded per build.

The ``Message-ID`` is derived from the delivery's idempotency key, so a retry after a lost ``250``
sends the same ID again and mail clients and archives collapse the duplicate. The first mail of a
build (per recipient list) becomes the thread root; later ones name it in ``In-Reply-To`` and
``References`` (kept in the RefStore, see :mod:`.refstore`), which is what threads them in Gmail,
Thunderbird and Outlook alike. The module is not called ``email`` so it never shadows the stdlib.
"""

from __future__ import annotations

import logging
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import aiosmtplib

from pipeline import config as config_mod
from pipeline.notify import errors, refstore, render

logger = logging.getLogger(__name__)


async def send(
    delivery: dict[str, Any],
    *,
    config: config_mod.Config,
    refs: refstore.RefStore,
    secrets: list[str],
) -> dict[str, Any]:
    cfg = config.notify.email
    recipients = [str(a) for a in delivery["target"]] if isinstance(delivery["target"], list) else [str(delivery["target"])]
    if not recipients:
        raise errors.PermanentDeliveryError("no_recipients", "the delivery names no email recipients")
    username = config_mod.secret(cfg.username_env)
    password = config_mod.secret(cfg.password_env)
    for env, value in ((cfg.username_env, username), (cfg.password_env, password)):
        if env and value is None:
            raise errors.PermanentDeliveryError("secret_missing", f"environment variable {env} is not set ([notify.email])")
    thread_ref = refstore.email_thread_key(recipients, str(delivery["thread_key"]))
    async with refstore.thread_lock(thread_ref):
        root = await refs.get(thread_ref)
        message = build_message(delivery, config=config, recipients=recipients, root=root, secrets=secrets)
        refused = await _submit(message, cfg, username, password, config)
        if root is None:
            await refs.set(thread_ref, str(message["Message-ID"]))
    message_id = str(message["Message-ID"])
    result: dict[str, Any] = {"message_id": message_id}
    if refused:
        result["refused"] = {addr: f"{r.code} {r.message}" for addr, r in refused.items()}
        logger.warning("some recipients refused", extra={"action": "notify_partial", "refused": sorted(refused)})
    logger.info("email sent", extra={"action": "notify_sent", "event": delivery["event"],
                                     "idempotency_key": delivery["idempotency_key"]})
    return result


async def _submit(
    message: EmailMessage,
    cfg: config_mod.EmailConfig,
    username: str | None,
    password: str | None,
    config: config_mod.Config,
) -> dict[str, Any]:
    """One SMTP session; returns the refused recipients, or raises a sorted delivery error."""
    smtp = aiosmtplib.SMTP(
        hostname=cfg.host,
        port=cfg.port,
        use_tls=cfg.tls == "implicit",
        start_tls=cfg.tls == "starttls",
        tls_context=_tls_context(config) if cfg.tls != "none" else None,
        timeout=cfg.timeout,
        username=username,
        password=password,
    )
    try:
        async with smtp:
            refused, _reply = await smtp.send_message(message)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        raise _refused(exc.recipients) from None
    except aiosmtplib.SMTPRecipientRefused as exc:
        raise _refused([exc]) from None
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise errors.PermanentDeliveryError("smtp_auth_failed", f"SMTP server refused the login: {exc.code} {exc.message}") from None
    except aiosmtplib.SMTPResponseException as exc:
        text = f"SMTP server answered {exc.code} {exc.message}"
        if 500 <= exc.code < 600 and not isinstance(exc, aiosmtplib.SMTPConnectResponseError):
            raise errors.PermanentDeliveryError("smtp_rejected", text) from None
        raise errors.TransientDeliveryError(text) from None
    except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError, aiosmtplib.SMTPTimeoutError,
            ConnectionError, TimeoutError) as exc:
        raise errors.TransientDeliveryError(f"SMTP server unreachable: {type(exc).__name__}: {exc}") from None
    except ssl.SSLError as exc:
        raise errors.PermanentDeliveryError("smtp_tls_failed", f"TLS with the SMTP server failed: {exc.reason or exc}") from None
    except aiosmtplib.SMTPException as exc:
        # STARTTLS or AUTH not offered, SMTPUTF8 unsupported: the server and the config disagree.
        raise errors.PermanentDeliveryError("smtp_unsupported", f"SMTP server cannot do what [notify.email] asks: {exc}") from None
    except OSError as exc:
        raise errors.TransientDeliveryError(f"SMTP server unreachable: {type(exc).__name__}: {exc}") from None
    return dict(refused)


def build_message(
    delivery: dict[str, Any],
    *,
    config: config_mod.Config,
    recipients: list[str],
    root: str | None,
    secrets: list[str],
) -> EmailMessage:
    cfg = config.notify.email
    subject, text, html = render.render_email(delivery["payload"], config=config, secrets=secrets)
    message_id = message_id_for(delivery, cfg.sender)
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = cfg.sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = message_id
    if root and root != message_id:
        msg["In-Reply-To"] = root
        msg["References"] = root
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Pressroom-Job"] = str(delivery["thread_key"])
    msg["X-Pressroom-Event"] = str(delivery["event"])
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def message_id_for(delivery: dict[str, Any], sender: str) -> str:
    domain = sender.rsplit("@", 1)[-1].strip(" >") if "@" in sender else "pressroom.invalid"
    return f"<{delivery['idempotency_key']}@{domain or 'pressroom.invalid'}>"


def _tls_context(config: config_mod.Config) -> ssl.SSLContext:
    ca_file = config.notify.email.ca_file
    return ssl.create_default_context(cafile=str(config.resolve(ca_file)) if ca_file else None)


def _refused(recipients: list[aiosmtplib.SMTPRecipientRefused]) -> errors.DeliveryError:
    detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in recipients)
    if all(400 <= r.code < 500 for r in recipients):
        return errors.TransientDeliveryError(f"SMTP server deferred the recipients: {detail}")
    return errors.PermanentDeliveryError("recipient_refused", f"SMTP server refused the recipients: {detail}")
