"""Dashboard sessions in the store: the rows behind the sign-in cookie.

A part of :class:`pipeline.store.Store`, kept in its own module because it shares nothing with
the job tables. Callers pass the SHA-256 of the session ID (``id_hash``), never the ID itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select, update

from pipeline.store import tables
from pipeline.store.base import StoreBase

T = tables.sessions


class SessionMethods(StoreBase):
    async def create_session(self, *, id_hash: str, handle: str, principal: str, token_hash: str, expires_at: float,
                             user_agent: str | None = None, remote: str | None = None) -> None:
        """Store a new sign-in; expired ones are swept in the same transaction (no timer needed)."""
        now = self.clock()
        async with self._write(notify=False) as conn:
            await conn.execute(delete(T).where(T.c.expires_at <= now))
            await conn.execute(insert(T).values(id_hash=id_hash, handle=handle, principal=principal,
                                                token_hash=token_hash, created_at=now, expires_at=expires_at,
                                                last_seen_at=now, user_agent=(user_agent or "")[:300] or None,
                                                remote=(remote or "")[:100] or None))

    async def session(self, id_hash: str) -> dict[str, Any] | None:
        """The live (unexpired) session with this ID hash, with its ``token_hash``."""
        async with self._read() as conn:
            row = (await conn.execute(select(T).where(T.c.id_hash == id_hash, T.c.expires_at > self.clock()))).first()
        return dict(row._mapping) if row else None

    async def touch_session(self, id_hash: str) -> None:
        async with self._write(notify=False) as conn:
            await conn.execute(update(T).where(T.c.id_hash == id_hash).values(last_seen_at=self.clock()))

    async def delete_session(self, id_hash: str) -> bool:
        async with self._write(notify=False) as conn:
            return bool((await conn.execute(delete(T).where(T.c.id_hash == id_hash))).rowcount)

    async def revoke_session(self, handle: str) -> bool:
        async with self._write(notify=False) as conn:
            return bool((await conn.execute(delete(T).where(T.c.handle == handle))).rowcount)

    async def list_sessions(self, limit: int = 500) -> list[dict[str, Any]]:
        """Live sessions, newest first (the API shows the handle, never ``id_hash``)."""
        async with self._read() as conn:
            rows = await conn.execute(select(T).where(T.c.expires_at > self.clock())
                                      .order_by(T.c.created_at.desc()).limit(limit))
            return [dict(r._mapping) for r in rows]
