"""pressroom's configuration: one ``config.toml``, validated into a frozen, typed :class:`Config`.

``from pipeline import config as config_mod`` then ``config_mod.load(path)`` is how the daemon,
the command line and the tests get one. The package's modules, in the order a config travels:

- :mod:`~pipeline.config.schema`: the pydantic models, one per TOML table;
- :mod:`~pipeline.config.problems`: validation errors as ``file: [table] key: expected …`` lines;
- :mod:`~pipeline.config.loader`: reading the file, cross-key checks, secrets from the environment;
- :mod:`~pipeline.config.reference`: ``docs/config.md``, generated from the models;
- :mod:`~pipeline.config.starter`: the commented starter file ``pressroom init`` writes.

An invalid file raises :class:`ConfigError` with one line per problem; it is defined with the
other coded errors in :mod:`pipeline.errors` and exported here beside the functions that raise it.
"""

from pipeline.config.loader import load, parse, secret, with_site_base
from pipeline.config.schema import (
    AuditConfig,
    Config,
    EmailConfig,
    IntakeConfig,
    LanguageConfig,
    NotifyConfig,
    OpenApiOptions,
    PipelineConfig,
    RetentionConfig,
    ServerConfig,
    SlackConfig,
    StagesConfig,
    StoreConfig,
    TokenConfig,
    TranslateConfig,
    WebhookConfig,
    WorkersConfig,
)
from pipeline.errors import ConfigError

__all__ = [
    "AuditConfig",
    "Config",
    "ConfigError",
    "EmailConfig",
    "IntakeConfig",
    "LanguageConfig",
    "NotifyConfig",
    "OpenApiOptions",
    "PipelineConfig",
    "RetentionConfig",
    "ServerConfig",
    "SlackConfig",
    "StagesConfig",
    "StoreConfig",
    "TokenConfig",
    "TranslateConfig",
    "WebhookConfig",
    "WorkersConfig",
    "load",
    "parse",
    "secret",
    "with_site_base",
]
