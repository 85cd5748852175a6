"""What happens to a job once it is stored: the worker, the runner, and one module per job kind.

See ``kinds.py`` for the kinds the daemon runs and ``context.py`` for what a handler gets. This
package file imports nothing, so importing one module (``workspace``, ``status``) loads only it.
"""
