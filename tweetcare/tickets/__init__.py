"""Customer-care tickets opened by the stream and read by the CLI."""

from tweetcare.tickets.models import Reply, Ticket
from tweetcare.tickets.store import TicketStore
from tweetcare.tickets.stream_writes import Outcome, TicketEvent

__all__ = ["Outcome", "Reply", "Ticket", "TicketEvent", "TicketStore"]
