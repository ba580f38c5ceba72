"""A ticket as a person names it: its number (`#10482` or `10482`), or a unique prefix of its id.

People read and type ticket numbers; the long id (`TC-` and 32 hex digits) stays the key the
tables use. A prefix is enough when only one ticket starts with it, and a prefix several share
is refused with their numbers, so nobody acts on the wrong ticket.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from tweetcare.core.errors import UserError
from tweetcare.tickets.models import (
    TICKET_ID_PREFIX,
    TICKET_NUMBER_MAX,
    Ticket,
    ticket_reference,
)

_NUMBER = re.compile(r"^#?\s*(\d+)$")
_ID_PREFIX = re.compile(rf"^(?:{re.escape(TICKET_ID_PREFIX)})?([0-9A-F]+)$")
# how many of the tickets an ambiguous prefix matches the message names
SHOWN_MATCHES = 5


def find_ticket_id(conn: Connection | Session, reference: str) -> str | None:
    """The id of the one ticket `reference` names, None when none does; UserError when a prefix
    matches several (naming some of their numbers)."""
    text = reference.strip()
    table = Ticket.__table__
    number = _NUMBER.match(text)
    if number:
        if int(number.group(1)) > TICKET_NUMBER_MAX:
            return None
        query = select(table.c.ticket_id).where(table.c.ticket_number == int(number.group(1)))
        return conn.execute(query).scalar_one_or_none()
    prefix = _ID_PREFIX.match(text.upper())
    if prefix is None:
        return None
    # hex digits only: nothing in it is a LIKE wildcard
    query = (
        select(table.c.ticket_id, table.c.ticket_number)
        .where(table.c.ticket_id.like(f"{TICKET_ID_PREFIX}{prefix.group(1)}%"))
        .order_by(table.c.ticket_number)
        .limit(SHOWN_MATCHES + 1)
    )
    found = conn.execute(query).all()
    if len(found) > 1:
        shown = ", ".join(
            ticket_reference(n) if n else ticket_id for ticket_id, n in found[:SHOWN_MATCHES]
        )
        more = " and more" if len(found) > SHOWN_MATCHES else ""
        raise UserError(
            f"{text} matches several tickets ({shown}{more}): give its number or more of its id"
        )
    return found[0][0] if found else None
