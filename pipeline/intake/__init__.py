"""Intake: drop folders, git post-commit hooks and push webhooks, each ending in ``Submitter``.

Kept free of imports so the post-commit hook (``python -m pipeline.intake.hookrun``) starts fast.
"""
