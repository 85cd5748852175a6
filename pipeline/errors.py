"""Errors with stable codes: the one hierarchy of ``pipeline/``. A code is part of the API: never rename one.

``PressroomError`` subclasses carry ``code`` and ``http_status``; their docstring is the default
message. The API middleware renders any of them as ``{"error": {"code", "message", "runbook"}}``.
Stages cannot import ``pipeline/``, so their errors derive from :class:`stages.base.StageError`
instead; their codes are listed in :data:`STAGE_CODES`. Every code has a runbook section in
``docs/errors.md`` at ``#<code>``; a test checks that none is missing.
"""

from __future__ import annotations

from typing import Any

RUNBOOK_BASE = "docs/errors.md#"


class PressroomError(Exception):
    """Something went wrong."""

    code = "internal_error"
    http_status = 500

    def __init__(self, message: str | None = None, **details: Any) -> None:
        super().__init__(message or (self.__doc__ or self.code).strip().splitlines()[0])
        self.details = details

    @property
    def message(self) -> str:
        return str(self)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message, "runbook": runbook(self.code)}
        if self.details:
            body["details"] = self.details
        return {"error": body}


def runbook(code: str) -> str:
    """Where the runbook of ``code`` is, relative to the docs root (``docs/errors.md#<code>``)."""
    return RUNBOOK_BASE + code


class BadRequest(PressroomError):
    """The request is malformed."""

    code = "bad_request"
    http_status = 400


class InvalidJson(BadRequest):
    """The request body is not valid JSON."""

    code = "invalid_json"


class InvalidPath(BadRequest):
    """The URL path holds a character no file name can have (a NUL byte)."""

    code = "invalid_path"


class InvalidSource(BadRequest):
    """The submitted source is not an archive or a source reference pressroom understands."""

    code = "invalid_source"


class InvalidArchive(BadRequest):
    """The archive is corrupt, empty or not a tar.gz/zip file."""

    code = "invalid_archive"


class UnsafeArchive(BadRequest):
    """The archive has a member that would land outside the job workspace."""

    code = "unsafe_archive"


class BadMemberName(BadRequest):
    """An archive member's name has a control character or a part longer than 255 bytes."""

    code = "bad_member_name"


class TreeMismatch(BadRequest):
    """The git tree ID the client claimed is not the tree ID of what it uploaded."""

    code = "tree_mismatch"


class FieldTooLong(BadRequest):
    """A source or trigger field is longer than its limit."""

    code = "field_too_long"


class CallbackNotAllowed(BadRequest):
    """The callback URL is not http(s) or reaches an address [server] callback_allow does not open."""

    code = "callback_not_allowed"


class PayloadTooLarge(PressroomError):
    """The upload is larger than [server] max_upload_mb."""

    code = "payload_too_large"
    http_status = 413


class TooManyMembers(PayloadTooLarge):
    """The archive has more members (files and folders) than the daemon unpacks."""

    code = "too_many_members"


class Unauthorized(PressroomError):
    """A valid bearer token is required."""

    code = "unauthorized"
    http_status = 401


class InvalidSignature(Unauthorized):
    """The webhook signature is missing or wrong."""

    code = "invalid_signature"


class Forbidden(PressroomError):
    """The token lacks the scope this action needs."""

    code = "forbidden"
    http_status = 403


class CsrfFailed(Forbidden):
    """The form's CSRF token is missing or wrong."""

    code = "csrf_failed"


class NotFound(PressroomError):
    """No such resource."""

    code = "not_found"
    http_status = 404


class JobNotFound(NotFound):
    """No job has this ID."""

    code = "job_not_found"


class SessionNotFound(NotFound):
    """No dashboard session has this handle (it expired, was signed out or revoked)."""

    code = "session_not_found"


class AuditNotFound(NotFound):
    """No audit run has this ID (it may still be queued or running: see its job's status)."""

    code = "audit_not_found"


class FindingNotFound(NotFound):
    """No audit finding has this fingerprint."""

    code = "finding_not_found"


class Conflict(PressroomError):
    """The request conflicts with the job's state."""

    code = "conflict"
    http_status = 409


class IdempotencyConflict(Conflict):
    """The Idempotency-Key was used before with a different request body."""

    code = "idempotency_conflict"


class InvalidTransition(Conflict):
    """The job is not in a state that allows this action."""

    code = "invalid_transition"


class NotAwaitingReview(Conflict):
    """The job is not waiting for review."""

    code = "not_awaiting_review"


class ReleaseGone(Conflict):
    """The release this review would promote was removed by retention (keep_releases)."""

    code = "release_gone"


class RateLimited(PressroomError):
    """Too many requests; retry after the number of seconds in Retry-After."""

    code = "rate_limited"
    http_status = 429

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limit exceeded; retry in {retry_after:.1f} s")
        self.retry_after = retry_after


class StoreUnavailable(PressroomError):
    """The job store is locked by another program or unreachable; retry after Retry-After seconds."""

    code = "store_unavailable"
    http_status = 503
    retry_after = 5.0


class ConfigError(PressroomError):
    """The config file is unreadable or invalid.

    Raised at load, before anything starts; ``problems`` holds one line per mistake, each naming
    the file, the table and the key, and the command line prints them all.
    """

    code = "config_invalid"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class FetchError(PressroomError):
    """git could not fetch the repository or commit.

    The worker turns it into a FAILED job with this code and git's (redacted) message; a push
    webhook that fetches early logs it and leaves the fetch to the worker.
    """

    code = "source_fetch_failed"
    http_status = 502


class OutputRefused(PressroomError):
    """``pressroom build`` will not write to that --out folder: it could delete what pressroom did not write.

    Raised before anything is touched when --out is the source, holds the source, or is a non-empty
    folder without the marker an earlier ``pressroom build`` leaves there.
    """

    code = "output_refused"
    http_status = 400


STAGE_CODES: dict[str, str] = {
    "stage_failed": "A stage failed.",
    "stage_not_found": "The pipeline names a stage that is not installed.",
    "stage_timeout": "A stage ran longer than its timeout.",
    "stage_crashed": "A stage raised an unexpected error.",
    "job_timeout": "The job ran longer than [workers] job_timeout.",
    "lease_expired": "The worker running the job stopped renewing its lease (it died or hung).",
    "lease_lost": "Another worker took over the job; this worker's result was discarded.",
    "cancelled": "The job was cancelled by a user.",
    "superseded": "A newer build of the same branch or folder replaced this one.",
    "source_missing": "The job's source snapshot is missing.",
    "source_fetch_failed": "git could not fetch the repository or commit.",
    "tree_mismatch": "The fetched commit's git tree is not the tree the push (or upload) named.",
    "lint_failed": "Lint found problems at or above [stages.lint] fail_on.",
    "lint_tool_missing": "The markdownlint engine (rumdl) is not installed.",
    "lint_tool_failed": "The markdownlint engine (rumdl) crashed or timed out.",
    "openapi_invalid": "An OpenAPI spec in [stages.openapi] specs is invalid or references a file outside the submission.",
    "empty_site": "The source has no pages for the configured languages.",
    "render_failed": "The HTML render failed.",
    "pdf_failed": "The PDF render failed.",
    "pdf_timeout": "The PDF render ran past its timeout.",
    "pdf_config_invalid": "The [stages.pdf] settings do not fit together (e.g. a print CSS that is missing).",
    "pdf_no_input": "render_pdf ran without render_html's output.",
    "deploy_unknown_target": "A promotion names a deploy target that is not configured.",
    "target_not_found": "No deploy target has this name.",
    "release_not_found": "No release of that job exists on the target (rollback).",
    "broken_links": "The link check found broken internal links or anchors.",
    "site_missing": "The link check found no built site to check.",
    "site_empty": "The built site has no pages to check.",
    "deploy_not_writable": "The deploy target directory is not writable.",
    "deploy_check_failed": "The release failed its completeness check before the swap.",
    "deploy_push_rejected": "The git remote rejected the push.",
    "deploy_command_failed": "The deploy command exited non-zero.",
    "deploy_timeout": "The deploy ran past its timeout.",
    "disk_full": "The disk filled up while writing.",
    "delivery_failed": "A notification could not be delivered after all attempts.",
    "invalid_auth": "Slack refused the bot token (a delivery is dead-lettered at once).",
    "channel_not_found": "Slack does not know the channel, or the bot is not in it.",
    "recipient_refused": "The SMTP server refused a recipient.",
    "forbidden_address": "A webhook URL resolves to an address range that [notify] allow_private_addresses forbids.",
    "bad_url": "A webhook URL is not http(s) or cannot be parsed.",
    "secret_missing": "The environment variable a notification channel names is not set.",
    "template_error": "A notification template failed to render.",
}
"""Job error codes (stored on FAILED jobs and stage results) with their one-line meaning."""


def all_codes() -> dict[str, str]:
    """Every code pressroom can report, with its one-line meaning: the classes here and :data:`STAGE_CODES`."""
    codes = dict(STAGE_CODES)
    stack: list[type[PressroomError]] = [PressroomError]
    while stack:
        cls = stack.pop()
        codes.setdefault(cls.code, ((cls.__doc__ or "").strip().splitlines() or [""])[0])
        stack.extend(cls.__subclasses__())
    return codes
