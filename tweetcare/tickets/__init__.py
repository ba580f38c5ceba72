"""Customer-care tickets opened by the stream and read by the CLI."""

from tweetcare.tickets.models import Ticket
from tweetcare.tickets.store import TicketStore

__all__ = ["Ticket", "TicketStore"]
