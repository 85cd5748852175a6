"""Entry points for the API and CLI: targets by name, on top of :mod:`stages.deploy.release`.

The HTTP routes and CLI commands only need the ``[stages.deploy]`` options and the sites folder
(``<data_dir>/sites``); every function here is synchronous file work (call it through
``asyncio.to_thread`` from a handler) and raises :class:`~stages.base.StageError` subclasses with
stable codes (``target_not_found`` 404, ``release_not_found`` 404).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from stages.base import StageError
from stages.deploy import command_target, diff, git_target, release
from stages.deploy.options import Options
from stages.deploy.stage import target_root

if TYPE_CHECKING:  # serve imports aiohttp (0.16 s): a `pressroom build` never serves
    from stages.deploy.serve import RootFor


class TargetNotFound(StageError):
    """No deploy target of that name is configured."""

    code = "target_not_found"


def root_of(opts: Options, sites_dir: Path, name: str) -> Path:
    """The folder holding ``releases/`` and ``current`` of target ``name``."""
    target = opts.target_named(name)
    if target is None:
        raise TargetNotFound(f"no deploy target named {name!r} (configured: {', '.join(sorted(opts.targets))})")
    return target_root(sites_dir, name, target)


def releases(opts: Options, sites_dir: Path, name: str) -> list[release.ReleaseInfo]:
    """``GET /api/targets/{name}/releases``: newest first, the live one marked ``current``."""
    return release.list_releases(root_of(opts, sites_dir, name))


def rollback(opts: Options, sites_dir: Path, name: str, job_id: str | None = None) -> release.ReleaseInfo:
    """``POST /api/targets/{name}/rollback`` / ``pressroom rollback TARGET [JOB_ID]``.

    Swaps ``current`` back at once (one rename) to ``job_id``'s release, or to the release before
    the live one. For ``git``/``command`` targets only the local copy moves; publish the old
    release remotely with a promote job (its context's ``target`` and ``release_from``).
    """
    return release.rollback(root_of(opts, sites_dir, name), job_id)


async def rollback_and_publish(
    opts: Options, sites_dir: Path, name: str, job_id: str | None = None, *, workdir: Path,
) -> release.ReleaseInfo:
    """Rollback for every kind of target: a ``git`` target pushes the chosen release as a new
    commit (``workdir`` is a scratch folder for the clone), a ``command`` target runs its command
    with it; then the local ``current`` swaps. A ``directory`` target just swaps, like
    :func:`rollback`. Fails with the deploy error codes and leaves ``current`` as it was.
    """
    root = root_of(opts, sites_dir, name)
    target = opts.target_named(name)
    assert target is not None  # root_of refused unknown names
    chosen = await asyncio.to_thread(release.rollback_choice, root, job_id)
    if target.kind == "git" and target.git is not None:
        message = f"Roll back to {chosen.job_id}"
        await git_target.publish(Path(chosen.path), target.git, workdir, message=message)
    elif target.kind == "command" and target.command is not None:
        await command_target.publish(target.command, Path(chosen.path), target=name, job_id=chosen.job_id)
    return await asyncio.to_thread(release.rollback, root, chosen.name)


def live_release(opts: Options, sites_dir: Path, name: str) -> Path | None:
    """The live release folder of a target (``current`` resolved), None before the first deploy."""
    return release.current_path(root_of(opts, sites_dir, name))


def review_preview(
    opts: Options, sites_dir: Path, candidate: Path, *, against: str | None = None,
) -> diff.DiffPreview:
    """Diff of a candidate release (a staging release path) against what is live on the
    promotion target, computed now (the deploy stage stored one at deploy time; production may
    have moved since). ``GET /api/reviews`` shows ``preview.to_dict()`` or ``diff.preview_html``.
    """
    to = against or opts.promote_to
    if not to:
        raise TargetNotFound("no promotion target configured ([stages.deploy] promote_to)")
    live = release.current_path(root_of(opts, sites_dir, to))
    return diff.diff_releases(candidate, live, max_tables=opts.diff_pages)


def roots(opts: Options, sites_dir: Path) -> dict[str, Path]:
    """Each configured target's root (the folder holding ``current``), by name."""
    return {name: target_root(sites_dir, name, target) for name, target in opts.targets.items()}


def root_for(opts: Options, sites_dir: Path) -> RootFor:
    """The :data:`~stages.deploy.serve.RootFor` for ``serve.make_handler``: configured targets only."""

    def lookup(name: str) -> Path | None:
        target = opts.target_named(name)
        return target_root(sites_dir, name, target) if target is not None else None

    return lookup
