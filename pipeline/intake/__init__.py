"""Intake: how a submission becomes a job's snapshot.

Drop folders, the git post-commit hook, push webhooks and ``POST /api/builds`` each end in
``submitter.Submitter``, which unpacks or copies the source into the job's workspace
(``archives``, ``snapshot``, ``gittree``) before the job is stored; git sources are fetched later
by the worker (``gitfetch``). ``docs/architecture.md`` lists every module.

Kept free of imports so the post-commit hook (``python -m pipeline.intake.hookrun``) starts fast.
"""
