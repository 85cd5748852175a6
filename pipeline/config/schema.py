"""The typed config model: one frozen pydantic model per ``config.toml`` table.

Every table forbids extra keys, so a misspelt key is an error instead of a silently ignored
setting. Each field's docstring is its line in ``docs/config.md`` (:mod:`pipeline.config.reference`
renders it), so the reference cannot drift from what is validated. The stage tables reuse the
options classes the stages declare, which keeps ``stages/`` free of any import from ``pipeline/``.
Checks that span keys are in :mod:`pipeline.config.problems`; reading the file is in
:mod:`pipeline.config.loader`.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from pipeline.config.audit import AuditConfig
from stages.deploy.options import Options as DeployOptions
from stages.linkcheck.options import Options as LinkcheckOptions
from stages.lint.options import Options as LintOptions
from stages.openapi.options import Options as OpenApiOptions
from stages.render_html.options import Options as HtmlOptions
from stages.render_pdf.options import Options as PdfOptions
from stages.site.options import SiteOptions
from stages.translate.options import TranslateOptions

Scope = Literal["submit", "read", "admin"]
JOB_KINDS = ("build", "translate", "audit", "promote", "deliver", "maintenance")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TokenConfig(Section):
    name: str
    """Shown in logs and the audit trail instead of the secret."""
    token_env: str
    """Environment variable holding the bearer token."""
    scopes: list[Scope] = Field(default_factory=lambda: list[Scope](["read"]))
    """``read`` sees, ``submit`` submits and cancels, ``admin`` approves, replays and raises priority."""
    callback_secret_env: str | None = None
    """Env var holding the secret that signs the callbacks of this token's jobs (``whsec_…`` or raw);
    unset: each job gets its own secret, returned once in the submit response."""


class ServerConfig(Section):
    host: str = "127.0.0.1"
    """Interface the API and dashboard listen on."""
    port: int = Field(8080, ge=0, le=65535)
    """TCP port (0 picks a free one)."""
    auth: Literal["token", "none"] = "token"
    """``none`` opens the API and dashboard to anyone who can reach the port (loopback dev only)."""
    tokens: list[TokenConfig] = Field(default_factory=list)
    """Bearer tokens: ``[[server.tokens]]`` tables with a name, the env var holding it and scopes."""
    tokens_env: str = "PRESSROOM_TOKENS"
    """Also read tokens from this variable: ``name:token:scope1+scope2,...``."""
    max_upload_mb: float = Field(100, gt=0)
    """Largest archive upload accepted (413 ``payload_too_large`` above); unpacked size is capped at 10x."""
    rate_limit_per_token: float = Field(50, gt=0)
    """Requests per second a token may make (burst of twice that)."""
    rate_limit_overall: float = Field(2000, gt=0)
    """Requests per second for the whole daemon, all tokens together (429 with Retry-After above)."""
    docs_url: str | None = None
    """Base URL of the pressroom docs that runbook links in notifications point at
    (``<docs_url>/errors.md#<code>``); default the daemon's own read-only ``/docs/`` (a source checkout's docs/)."""
    auth_failures_per_minute: int = Field(30, ge=1)
    """Bad-token requests one remote address may make per minute (burst of as many) before every request
    from it answers 429 with Retry-After until the allowance refills; slows token guessing."""
    public_url: str | None = None
    """URL people use to reach this daemon (for links in notifications); default from host/port."""
    allow_path_sources: bool = True
    """Allow ``{"source": {"path": ...}}`` submissions from ``admin`` tokens (or with auth none)."""
    sites_port: int | None = Field(None, ge=0, le=65535)
    """Port of the separate origin serving deployed sites (``/sites/<target>/``); default ``port`` + 1
    (0 picks a free one). Submitted pages are untrusted, so they never share the dashboard's origin."""
    sites_base_url: str | None = None
    """Public URL of that sites origin when it sits behind a proxy (e.g. ``https://docs-preview.example.org``);
    best on its own host name. Default ``http://<host>:<sites_port>``."""
    session_days: float = Field(14, gt=0)
    """Dashboard sign-ins expire this many days after login (absolute, not sliding); admins can revoke them sooner."""
    callback_allow: list[str] = Field(default_factory=list)
    """Address ranges per-job callbacks may reach although they are loopback, private or link-local
    (e.g. ``["10.20.0.0/16"]``); by default only public addresses are called back."""
    callback_secret_env: str | None = None
    """Env var holding the key per-job callback secrets are derived from (the same on every daemon
    sharing a store); unset: a random key kept in ``<data_dir>/callback.key`` (0600)."""

    @field_validator("callback_allow")
    @classmethod
    def _ranges(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an address range like \"10.0.0.0/8\" or \"fd00::/8\"") from None
        return value

    @property
    def callback_networks(self) -> list[IPv4Network | IPv6Network]:
        """``callback_allow`` parsed (validated when the config is loaded)."""
        return [ip_network(item, strict=False) for item in self.callback_allow]

    @property
    def effective_sites_port(self) -> int:
        """``sites_port``, or ``port`` + 1 (0 when ``port`` is 0: any free port)."""
        if self.sites_port is not None:
            return self.sites_port
        return self.port + 1 if self.port else 0


class StoreConfig(Section):
    url: str | None = None
    """``sqlite:///relative/or/absolute.db`` or ``postgresql://user@host:port/db``; unset means ``pressroom.db`` under ``data_dir`` (and ``serve --data-dir``)."""
    busy_timeout: float = Field(15.0, gt=0, le=3600)
    """Seconds a store call waits for a SQLite database locked by another program (a ``sqlite3`` shell, a backup) before failing with ``store_unavailable``; the daemon keeps answering meanwhile."""


class WorkersConfig(Section):
    count: int = Field(2, ge=1, le=256)
    """Jobs run at once by this daemon, all kinds together."""
    concurrency: dict[str, int] = Field(default_factory=lambda: {"build": 2, "translate": 2, "audit": 1, "promote": 1, "deliver": 4, "maintenance": 1})
    """Per-kind limits inside ``count``."""
    job_timeout: float = Field(3600, gt=0)
    """Seconds one attempt of a job may run before it fails with ``job_timeout``."""
    max_attempts: int = Field(3, ge=1)
    """Attempts before a crashing job is FAILED and listed as a dead letter."""
    backoff_base: float = Field(2.0, gt=0)
    """Seconds before the first retry; doubles each attempt, with jitter."""
    backoff_max: float = Field(600.0, gt=0)
    """Longest wait between two attempts."""
    lease_seconds: float = Field(30.0, gt=0)
    """A claimed job is this daemon's for this long unless renewed; a dead daemon's jobs return after it."""
    heartbeat_seconds: float = Field(10.0, gt=0)
    """How often leases are renewed (keep it well under ``lease_seconds``)."""
    poll_interval: float = Field(1.0, gt=0)
    """Fallback poll when no wake-up arrives (new submissions wake workers at once; on PostgreSQL, so do other daemons' writes, through LISTEN/NOTIFY)."""
    global_limits: dict[str, int] = Field(default_factory=dict)
    """Per-kind limits across every daemon sharing the store, e.g. ``{ build = 2 }``: at most that many jobs of the kind run in the whole cluster (each daemon's ``concurrency`` still applies)."""
    processes: int = Field(2, ge=0)
    """Size of the process pool for CPU-heavy stages (0 = run in threads)."""
    priorities: dict[str, int] = Field(default_factory=lambda: {"promote": 80, "build": 50, "translate": 40, "deliver": 60, "audit": 10, "maintenance": 5})
    """Default priority per job kind (higher runs first); an ``admin`` submit may raise a build's."""

    @field_validator("concurrency", "priorities", "global_limits")
    @classmethod
    def _known_kinds(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(JOB_KINDS))
        if unknown:
            raise ValueError(f"unknown job kind(s) {unknown}; kinds are {list(JOB_KINDS)}")
        return value


class PipelineConfig(Section):
    build: list[str] = Field(default_factory=lambda: ["lint", "openapi", "render_html", "render_pdf", "linkcheck", "deploy"])
    """Stages of a ``build`` job, in order."""
    translate: list[str] | None = None
    """Stages of a ``translate`` job (one language of a build, ``[translate] fan_out``), in order.
    Unset: ``translate`` followed by the build's own stages, so each language is linted, rendered,
    printed and checked as the source language is."""

    def translate_stages(self, build: list[str] | None = None) -> list[str]:
        """A translate job's stages for a build that ran ``build`` (default ``build`` above)."""
        if self.translate is not None:
            return list(self.translate)
        return ["translate", *(s for s in (build or self.build) if s != "translate")]


class IntakeConfig(Section):
    watch: list[str] = Field(default_factory=list)
    """Drop folders to watch; a burst of saves in one becomes one build of a snapshot of it."""
    debounce_seconds: float = Field(0.3, ge=0)
    """Quiet time after the last write before a drop folder is built; a save is events milliseconds apart, and the size check after it catches slow copies."""
    branches: list[str] = Field(default_factory=lambda: ["main"])
    """Branch globs that push webhooks build; other branches are answered ``ignored: true``."""
    github_secret_env: str = "PRESSROOM_GITHUB_SECRET"
    """Env var holding the GitHub webhook secret (``X-Hub-Signature-256``)."""
    gitlab_token_env: str = "PRESSROOM_GITLAB_TOKEN"
    """Env var holding the GitLab webhook token (``X-Gitlab-Token``)."""
    generic_secret_env: str = "PRESSROOM_WEBHOOK_SECRET"
    """Env var holding the HMAC secret of ``POST /hooks/generic``."""
    stable_checks: int = Field(1, ge=0)
    """After the quiet period, file sizes and mtimes must match this many times in a row before the snapshot."""
    stable_interval_seconds: float = Field(0.25, gt=0)
    """Seconds between two of those size checks."""
    stable_max_seconds: float = Field(60.0, gt=0)
    """The max-wait: snapshot anyway (with a warning) when files are still changing this long after a burst's first write."""
    recheck_seconds: float = Field(2.0, gt=0)
    """How often a watched folder is checked for having disappeared, become unreadable or come back."""
    replay_window_seconds: float = Field(300.0, gt=0)
    """Generic webhooks: a ``webhook-timestamp`` further than this from now is refused as a replay."""
    fetch_timeout_seconds: float = Field(8.0, gt=0)
    """GitLab pushes: how long the handler may fetch the commit to learn its tree (then the worker fetches)."""


class StagesConfig(Section):
    """One table per stage, under the ``config_key`` its entry in ``stages/registry.py`` declares."""

    lint: LintOptions = Field(default_factory=LintOptions)
    html: HtmlOptions = Field(default_factory=HtmlOptions)
    pdf: PdfOptions = Field(default_factory=PdfOptions)
    linkcheck: LinkcheckOptions = Field(default_factory=LinkcheckOptions)
    deploy: DeployOptions = Field(default_factory=DeployOptions)
    openapi: OpenApiOptions = Field(default_factory=OpenApiOptions)


class TranslateConfig(TranslateOptions):
    """``[translate]``: the translate stage's options (``ctx.options`` of a translate job) and the
    jobs' own keys."""

    auto_publish: bool = False
    """Publish machine translations without an owner's review (a later issue)."""
    fan_out: bool = True
    """A build of a site with several languages renders only the source language and starts one
    ``translate`` job per other language, so a slow language never holds back the source's release;
    ``false`` renders every language inside the build, one after another."""


class SlackConfig(Section):
    enabled: bool = False
    """Post to Slack."""
    token_env: str = "SLACK_BOT_TOKEN"
    """Env var holding the bot token (``xoxb-…``)."""
    channel: str = "#docs"
    """Channel for build threads."""
    base_url: str = "https://slack.com/api/"
    """Slack Web API base URL (tests point it at a local server)."""
    webhook_url_env: str | None = None
    """Incoming-webhook alternative (no threading): env var holding the webhook URL."""
    events: list[str] = Field(default_factory=lambda: ["build.*", "review.requested", "audit.*"])
    """Event globs sent to Slack."""
    branches: list[str] = Field(default_factory=lambda: ["*"])
    """Branch globs whose events go to Slack (events without a branch always pass)."""
    branch_channels: dict[str, str] = Field(default_factory=dict)
    """Branch glob -> channel replacing ``channel`` for that branch (first match wins)."""
    timeout: float = Field(15.0, gt=0)
    """Seconds one Slack API call may take before the attempt counts as failed."""


class EmailConfig(Section):
    enabled: bool = False
    """Send mail."""
    host: str = "127.0.0.1"
    """SMTP server."""
    port: int = Field(25, ge=1, le=65535)
    """SMTP port (25 relay, 587 STARTTLS, 465 implicit TLS)."""
    tls: Literal["none", "starttls", "implicit"] = "none"
    """``none`` (local relay), ``starttls`` or ``implicit``."""
    username_env: str | None = None
    """Env var holding the SMTP user name (no AUTH when unset)."""
    password_env: str | None = None
    """Env var holding the SMTP password."""
    sender: str = "pressroom@localhost"
    """From address."""
    to: list[str] = Field(default_factory=list)
    """Recipients of build mails (language owners are added for their events)."""
    events: list[str] = Field(default_factory=lambda: ["build.failed", "build.fixed", "audit.report", "audit.critical"])
    """Event globs mailed."""
    timeout: float = Field(30.0, gt=0)
    """Seconds one SMTP attempt may take."""
    branches: list[str] = Field(default_factory=lambda: ["*"])
    """Branch globs whose events are mailed (events without a branch always pass)."""
    branch_to: dict[str, list[str]] = Field(default_factory=dict)
    """Branch glob -> recipients replacing ``to`` for that branch (first match wins)."""
    ca_file: str | None = None
    """PEM bundle to trust for the server's certificate instead of the system store."""


class WebhookConfig(Section):
    url: str
    """http(s) URL receiving signed JSON POSTs."""
    secret_env: str
    """Env var holding the signing secret (``whsec_…`` or raw)."""
    events: list[str] = Field(default_factory=lambda: ["*"])
    """Event globs posted."""
    branches: list[str] = Field(default_factory=lambda: ["*"])
    """Branch globs whose events are posted (events without a branch always pass)."""
    timeout: float = Field(10.0, gt=0)
    """Seconds one POST may take."""
    enabled: bool = True
    """Post to this webhook (false keeps it configured but silent)."""


class NotifyConfig(Section):
    slack: SlackConfig = Field(default_factory=SlackConfig)
    email: EmailConfig = Field(default_factory=EmailConfig)
    webhooks: list[WebhookConfig] = Field(default_factory=list)
    """Outgoing signed webhooks: ``[[notify.webhooks]]`` with ``url``, ``secret_env``, ``events``."""
    max_attempts: int = Field(8, ge=1)
    """Attempts per delivery before it is dead-lettered (replay with ``pressroom deliveries retry``)."""
    backoff_base: float = Field(30.0, gt=0)
    """First retry delay in seconds; doubles each attempt, with jitter (8 attempts ≈ 1 hour)."""
    backoff_max: float = Field(3600.0, gt=0)
    """Upper bound of one retry delay (a Slack ``Retry-After`` is honoured up to this too)."""
    allow_private_addresses: bool = True
    """``false`` refuses webhook URLs resolving to loopback, private, link-local or reserved ranges."""
    templates: str | None = None
    """Folder overriding ``templates/notify/``."""


class LanguageConfig(Section):
    owners_slack: list[str] = Field(default_factory=list)
    """Slack channels or user IDs told about this language's events."""
    owners_email: list[str] = Field(default_factory=list)
    """Addresses told about this language's events."""
    owner_events: list[str] = Field(default_factory=lambda: ["*"])
    """Event globs the owners get for events of this language (translations, translate builds)."""
    auto_publish: bool | Literal["when-complete"] = True
    """``true`` publishes each translate job at ``/<lang>/``; ``false`` holds every run for an admin's
    approval in the review queue; ``"when-complete"`` publishes only at 100% with no machine pages
    (anything less waits for approval)."""
    min_completion: float = Field(0, ge=0, le=100)
    """Completion % below which the language is built and previewable (``translation-<lang>`` target)
    but never published, approved or not; keeps a half-translated language off the live site."""

    @field_validator("auto_publish", mode="before")
    @classmethod
    def _publish_mode(cls, value: object) -> object:
        # Checked before the union so a typo is one line naming the three values, not one per member.
        if isinstance(value, bool) or value == "when-complete":
            return value
        raise PydanticCustomError("auto_publish", 'expected true, false or "when-complete"')


class RetentionConfig(Section):
    workspaces_days: float = Field(14, gt=0)
    """Job workspaces and logs older than this are pruned (rows and events stay)."""
    interval_hours: float = Field(6, gt=0)
    """How often the retention job runs (once per interval across all daemons)."""


class GitHubForgeConfig(Section):
    token_env: str | None = None
    """Env var holding a token allowed to write commit statuses (and pull-request comments); unset: nothing is reported."""
    api_url: str = "https://api.github.com"
    """REST API root; for GitHub Enterprise Server ``https://<host>/api/v3``."""
    hosts: list[str] = Field(default_factory=list)
    """Git hosts whose remote URLs are this forge's repositories (hook and JSON git builds); the
    ``api_url`` host (``github.com`` for ``api.github.com``) always counts."""
    check_runs: bool = False
    """Report check runs instead of commit statuses (needs a GitHub App installation token)."""
    context: str = "pressroom"
    """The status context (check run name) shown on the commit."""


class GitLabForgeConfig(Section):
    token_env: str | None = None
    """Env var holding a token with the ``api`` scope; unset: nothing is reported."""
    api_url: str = "https://gitlab.com/api/v4"
    """REST API root; for self-hosted GitLab ``https://<host>/api/v4``."""
    hosts: list[str] = Field(default_factory=list)
    """Git hosts whose remote URLs are this forge's repositories (hook and JSON git builds); the
    ``api_url`` host always counts."""
    context: str = "pressroom"
    """The commit status name shown on the commit."""


class ForgeConfig(Section):
    github: GitHubForgeConfig = Field(default_factory=GitHubForgeConfig)
    gitlab: GitLabForgeConfig = Field(default_factory=GitLabForgeConfig)


class PreviewsConfig(Section):
    enabled: bool = True
    """Build GitHub ``pull_request`` and GitLab ``merge_request`` webhook events into ``preview-<number>``
    targets on the sites origin (``noindex``; never staging or production, never reviewed)."""
    forks: bool = False
    """Also build pull requests from forks (their content is anyone's: they get no callbacks, no
    promotion and a directory target only)."""
    keep_days: float = Field(3, ge=0)
    """A closed or merged pull request's preview is removed this many days later (by the retention job)."""
    comment: bool = True
    """Post the preview URL as one comment on the pull request, edited on every push (needs ``[forge.*] token_env``)."""


class Config(Section):
    """The whole `config.toml` file."""

    server: ServerConfig = Field(default_factory=ServerConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    workers: WorkersConfig = Field(default_factory=WorkersConfig)
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    site: SiteOptions = Field(default_factory=SiteOptions)
    intake: IntakeConfig = Field(default_factory=IntakeConfig)
    stages: StagesConfig = Field(default_factory=StagesConfig)
    translate: TranslateConfig = Field(default_factory=TranslateConfig)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    languages: dict[str, LanguageConfig] = Field(default_factory=dict)
    """Per-language owners: ``[languages.es] owners_slack = [...]``, ``owners_email = [...]``."""
    audit: AuditConfig = Field(default_factory=AuditConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    previews: PreviewsConfig = Field(default_factory=PreviewsConfig)
    forge: ForgeConfig = Field(default_factory=ForgeConfig)
    data_dir: str = ".pressroom"
    """Where jobs, the SQLite store, caches and deployed sites live (relative to the config file)."""

    path: str = Field("<defaults>", exclude=True)
    root: str = Field(".", exclude=True)

    def resolve(self, relative: str) -> Path:
        """A path from the config, taken relative to the config file's folder."""
        p = Path(relative).expanduser()
        return p if p.is_absolute() else Path(self.root) / p

    @property
    def data_path(self) -> Path:
        return self.resolve(self.data_dir)

    @property
    def source_path(self) -> Path:
        return self.resolve(self.site.source)

    @property
    def sites_url(self) -> str:
        """The sites origin (no trailing slash): ``[server] sites_base_url`` or the listener's address."""
        if self.server.sites_base_url:
            return self.server.sites_base_url.rstrip("/")
        host = self.server.host
        host = "127.0.0.1" if host in ("0.0.0.0", "") else f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.server.effective_sites_port}"

    @property
    def store_url(self) -> str:
        """The store URL with a relative SQLite path taken from the config's folder."""
        prefix = "sqlite:///"
        if self.store.url is None:
            return prefix + str(self.data_path / "pressroom.db")
        url = self.store.url
        if url.startswith(prefix) and not url.startswith("sqlite:////"):
            rel = url[len(prefix):]
            if rel and rel != ":memory:":
                return prefix + str(self.resolve(rel))
        return url
