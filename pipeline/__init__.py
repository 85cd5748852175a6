"""pressroom's orchestrator: config, job store, workers, intake, API, notifications, CLI."""

__version__ = "0.1.0"
