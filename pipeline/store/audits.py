"""Audit runs and findings tracked over time: what a run found, compared with what was open.

A finding is one row per fingerprint for its whole life: ``first_seen`` when a run first found
it, ``last_seen`` each run that still finds it, ``fixed_at`` when a run that covered its check no
longer does. Each run also stores its own view of every finding it touched (``new``, ``open``,
``fixed``), so an old report reads the same later. Retention drops runs (and findings fixed)
before the cutoff in the same transaction as the run that passes it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, insert, select, update

from pipeline import errors
from pipeline.store import tables
from pipeline.store.base import StoreBase

R, F, RF = tables.audit_runs, tables.audit_findings, tables.audit_run_findings
SEVERITIES = ("critical", "high", "medium", "low")
_FIELDS = ("check", "severity", "page", "url", "subject", "message")


def _run_dict(row: Any) -> dict[str, Any]:
    return {"id": row.id, "target": row.target, "started_at": row.started_at, "finished_at": row.finished_at,
            "summary": row.summary or {}, "notes": row.notes or []}


def _finding_dict(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    return {k: data.get(k) for k in ("fingerprint", "target", *_FIELDS, "state", "first_seen", "last_seen",
                                     "fixed_at", "acked_at", "acked_by", "snoozed_until", "exported_url")}


class AuditMethods(StoreBase):
    async def record_audit(self, run_id: str, target: str, findings: list[dict[str, Any]], *,
                           covers: Iterable[str], started_at: float, notes: list[str],
                           keep_days: float) -> dict[str, Any]:
        """Store one run of ``target`` and move every tracked finding: new, still open, or fixed.
        Only findings of the checks the run ``covers`` can be fixed by it (a links-only run leaves
        metadata findings open). Returns the run's summary."""
        now = self.clock()
        covered = set(covers)
        async with self._write() as conn:
            known = {r.fingerprint: r for r in await conn.execute(select(F).where(F.c.target == target))}
            states: dict[str, tuple[str, str]] = {}
            for f in findings:
                fp = f["fingerprint"]
                values = {k: f.get(k) for k in _FIELDS}
                old = known.get(fp)
                if old is None:
                    await conn.execute(insert(F).values(fingerprint=fp, target=target, state="open", first_seen=now,
                                                        last_seen=now, **values))
                    states[fp] = ("new", f["severity"])
                    continue
                reopened = old.state == "fixed"
                await conn.execute(update(F).where(F.c.fingerprint == fp).values(
                    state="open", last_seen=now, fixed_at=None, **values,
                    **({"first_seen": now, "acked_at": None, "snoozed_until": None} if reopened else {})))
                states[fp] = ("new" if reopened else "open", f["severity"])
            for fp, old in known.items():
                if old.state == "open" and fp not in states and old.check in covered:
                    await conn.execute(update(F).where(F.c.fingerprint == fp).values(state="fixed", fixed_at=now))
                    states[fp] = ("fixed", old.severity)
            if states:
                await conn.execute(insert(RF), [{"run_id": run_id, "fingerprint": fp, "state": st, "severity": sev}
                                                for fp, (st, sev) in states.items()])
            summary = _summary(states.values())
            await conn.execute(insert(R).values(id=run_id, target=target, started_at=started_at, finished_at=now,
                                                summary=summary, notes=notes))
            cutoff = now - keep_days * 86400
            old_runs = select(R.c.id).where(R.c.finished_at < cutoff).scalar_subquery()
            await conn.execute(delete(RF).where(RF.c.run_id.in_(old_runs)))
            await conn.execute(delete(R).where(R.c.finished_at < cutoff))
            await conn.execute(delete(F).where(F.c.state == "fixed", F.c.fixed_at < cutoff))
        return summary

    async def audit_run(self, run_id: str) -> dict[str, Any]:
        """One run with the findings it reported (open and new first, then those it fixed)."""
        async with self._read() as conn:
            run = (await conn.execute(select(R).where(R.c.id == run_id))).first()
            if run is None:
                raise errors.AuditNotFound(f"no audit run {run_id!r}")
            rows = await conn.execute(select(F, RF.c.state.label("run_state"), RF.c.severity.label("run_severity"))
                                      .join(RF, RF.c.fingerprint == F.c.fingerprint).where(RF.c.run_id == run_id))
            found = []
            for row in rows:
                item = _finding_dict(row)
                item["state"] = row.run_state
                item["severity"] = row.run_severity
                found.append(item)
        return {**_run_dict(run), "findings": found}

    async def audit_runs(self, *, limit: int = 50, since: float | None = None) -> list[dict[str, Any]]:
        """Runs newest first (``since``: only runs finished after it, for the trend)."""
        query = select(R).order_by(R.c.finished_at.desc()).limit(limit)
        if since is not None:
            query = query.where(R.c.finished_at >= since)
        async with self._read() as conn:
            return [_run_dict(r) for r in await conn.execute(query)]

    async def audit_findings(self, *, state: str = "open", target: str | None = None,
                             limit: int = 10_000) -> list[dict[str, Any]]:
        """Tracked findings in ``state`` (the queue orders them: it knows page importance)."""
        query = select(F).where(F.c.state == state).limit(limit)
        if target:
            query = query.where(F.c.target == target)
        async with self._read() as conn:
            return [_finding_dict(r) for r in await conn.execute(query)]

    async def audit_finding(self, fingerprint: str) -> dict[str, Any]:
        async with self._read() as conn:
            row = (await conn.execute(select(F).where(F.c.fingerprint == fingerprint))).first()
        if row is None:
            raise errors.FindingNotFound(f"no audit finding {fingerprint!r}")
        return _finding_dict(row)

    async def audit_triage(self, fingerprint: str, *, by: str, snooze_until: float | None = None) -> dict[str, Any]:
        """Acknowledge a finding (someone is on it), or snooze it until a time (hidden from the
        open queue until then)."""
        values: dict[str, Any] = {"acked_at": self.clock(), "acked_by": by}
        if snooze_until is not None:
            values = {"snoozed_until": snooze_until, "acked_by": by}
        async with self._write() as conn:
            res = await conn.execute(update(F).where(F.c.fingerprint == fingerprint).values(**values))
            if res.rowcount == 0:
                raise errors.FindingNotFound(f"no audit finding {fingerprint!r}")
        return await self.audit_finding(fingerprint)

    async def audit_export_claim(self, fingerprint: str, claim: str) -> bool:
        """Take the right to export a finding as an issue: False when it has an issue already or
        another daemon is exporting it, so no finding becomes two issues."""
        async with self._write() as conn:
            res = await conn.execute(update(F).where(F.c.fingerprint == fingerprint, F.c.exported_url.is_(None))
                                     .values(exported_url=claim))
            return bool(res.rowcount)

    async def audit_export_done(self, fingerprint: str, claim: str, url: str | None) -> None:
        """The issue's URL after a claimed export, or None to release the claim (the export failed)."""
        async with self._write() as conn:
            await conn.execute(update(F).where(F.c.fingerprint == fingerprint, F.c.exported_url == claim)
                               .values(exported_url=url))


def _summary(states: Iterable[tuple[str, str]]) -> dict[str, Any]:
    per_state: Counter[str] = Counter()
    per_severity: Counter[str] = Counter()
    for state, severity in states:
        per_state[state] += 1
        if state != "fixed":
            per_severity[severity] += 1
    return {"severity": {s: per_severity.get(s, 0) for s in SEVERITIES},
            "open": per_state["open"] + per_state["new"], "new": per_state["new"], "fixed": per_state["fixed"]}
