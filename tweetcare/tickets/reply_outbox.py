"""Drafted replies on their way to X: listed for people and the post run, claimed under a
lease, and moved from state to state by compare-and-set (never two runs on one reply)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, or_, select
from sqlalchemy import update as sa_update

from tweetcare.core.errors import UserError
from tweetcare.tickets.database import TicketDatabase
from tweetcare.tickets.models import APPROVED, POSTED, POSTING, REFUSED, UNCLEAR, Reply


class ReplyOutbox(TicketDatabase):
    """Replies by state, and their moves: approved -> posting -> posted, refused or unclear."""

    def list_replies(
        self,
        decision: str | None = None,
        limit: int = 50,
        ticket_id: str | None = None,
        states: Sequence[str] | None = None,
    ) -> list[Reply]:
        """Drafted replies, oldest first (the order a person works through a queue)."""
        if not self._has_schema():
            return []
        query = select(Reply)
        if decision is not None:
            query = query.where(Reply.decision == decision)
        if ticket_id is not None:
            query = query.where(Reply.ticket_id == ticket_id)
        if states is not None:
            query = query.where(Reply.state.in_(states))
        query = query.order_by(Reply.drafted_at, Reply.reply_id).limit(limit)
        with self._sessions() as session:
            return list(session.scalars(query))

    def replies_to_post(self, limit: int = 50) -> list[Reply]:
        """Replies cleared to post (by the gate or a person) and not handed to X yet."""
        return self.list_replies(limit=limit, states=[APPROVED])

    def claim_for_posting(self, reply_id: str, run_id: str, lease: timedelta) -> Reply | None:
        """approved -> posting under `run_id`'s lease, committed before X is called; None if it
        is not approved (any more): one conditional UPDATE, so two runs never both claim it."""
        until = datetime.now(UTC) + lease
        values = {"lease_owner": run_id, "lease_expires_at": until}
        return self._move(reply_id, {APPROVED}, POSTING, values)

    def mark_posted(self, reply_id: str, posted_tweet_id: str, run_id: str) -> None:
        """posting (or unclear) -> posted, with the tweet X made; only by the run that claimed
        it (a run whose lease ran out still records what X answered it)."""
        values = {"posted_at": datetime.now(UTC), "posted_tweet_id": posted_tweet_id}
        moved = self._move(reply_id, {POSTING, UNCLEAR}, POSTED, values | _ended(), run_id)
        if moved is None:
            raise UserError(f"reply {reply_id} is not being posted by run {run_id}")

    def refuse(self, reply_id: str, run_id: str, reason: str) -> Reply | None:
        """posting -> refused: X refused it (4xx), nothing was posted; it waits for a person
        with X's reason, and the run goes on with the next reply."""
        return self._move(reply_id, {POSTING}, REFUSED, {"refusal": reason} | _ended(), run_id)

    def release(self, reply_id: str, run_id: str) -> None:
        """posting -> approved: nothing was posted and the reply is not at fault (the
        credentials were refused, X asked us to slow down), so a later run posts it."""
        self._move(reply_id, {POSTING}, APPROVED, _ended(), run_id)

    def mark_unclear(self, run_id: str, reply_id: str | None = None) -> list[Reply]:
        """posting -> unclear: replies that may be on X or not wait for a person (`replies
        pending`) and are never posted again on their own. Only `reply_id` when given (X failed
        while this run posted it); else every reply whose lease expired (its run died) or that
        `run_id` holds. A reply another live run is posting is left to that run."""
        if not self._has_schema():
            return []
        table = Reply.__table__
        now = datetime.now(UTC)
        owned = table.c.lease_owner == run_id
        if reply_id is None:
            expired = or_(table.c.lease_expires_at.is_(None), table.c.lease_expires_at <= now)
            which = or_(owned, expired)
        else:
            which = and_(owned, table.c.reply_id == reply_id)
        with self.engine.begin() as conn:
            ids = conn.scalars(
                select(table.c.reply_id).where(table.c.state == POSTING, which).with_for_update()
            ).all()
            moved = [r for r in ids if self._set_state(conn, r, {POSTING}, UNCLEAR, _ended())]
        with self._sessions() as session:
            return [r for r in (session.get(Reply, i) for i in moved) if r is not None]

    def _move(
        self,
        reply_id: str,
        sources: set[str],
        target: str,
        values: dict[str, Any],
        run_id: str | None = None,
    ) -> Reply | None:
        """One reply from one of `sources` to `target` (and `run_id`'s, when given),
        atomically: compare and set, its version bumped."""
        with self.engine.begin() as conn:
            if not self._set_state(conn, reply_id, sources, target, values, run_id):
                return None
        with self._sessions() as session:
            return session.get(Reply, reply_id)

    @staticmethod
    def _set_state(
        conn: Connection,
        reply_id: str,
        sources: set[str],
        target: str,
        values: dict[str, Any],
        run_id: str | None = None,
    ) -> bool:
        table = Reply.__table__
        where = [table.c.reply_id == reply_id, table.c.state.in_(sorted(sources))]
        if run_id is not None:
            where.append(table.c.lease_owner == run_id)
        done = conn.execute(
            sa_update(table)
            .where(*where)
            .values(values | {"state": target, "version": table.c.version + 1})
        )
        return done.rowcount == 1


def _ended() -> dict[str, Any]:
    """A lease given up: the run is done with the reply, whatever became of it."""
    return {"lease_expires_at": datetime.now(UTC)}
