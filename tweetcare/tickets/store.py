"""The ticket store: one open ticket per customer conversation, on any SQLAlchemy URL.

Written by the streaming job and read by the CLI. Every write is keyed (tweet id, conversation,
batch id) so the stream's at-least-once replays change nothing the second time. Each of its jobs
has a module of its own; `TicketStore` puts them together on one database:

- `database`: engine, sessions, schema, the shared write transaction and its retries;
- `stream_writes`: tickets from the stream's analysed tweets, batch statistics;
- `incident_records`: incidents recorded, read back, and the tickets they raise;
- `reply_outbox`: replies by state and their moves on the way to X;
- `ticket_queries`: what agents and status pages read.
"""

from __future__ import annotations

from tweetcare.tickets.incident_records import IncidentRecords
from tweetcare.tickets.reply_outbox import ReplyOutbox
from tweetcare.tickets.stream_writes import StreamWrites
from tweetcare.tickets.ticket_queries import TicketQueries


class TicketStore(StreamWrites, IncidentRecords, ReplyOutbox, TicketQueries):
    """Tickets, the tweets attached to them and per-batch stream statistics."""
