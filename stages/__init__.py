"""The pipeline's steps. Each stage is ``async def run(ctx: StageContext[Options]) -> StageResult``,
listed in ``registry.py`` with its options class and ``[stages.<key>]`` table.

Stages are pure steps: they never import ``pipeline`` (the orchestrator), so they can be run
from tests, the ``pressroom build`` command or a worker alike. Keep package ``__init__`` modules
of stages light: the config model imports each stage's ``options`` module at start-up.
"""
