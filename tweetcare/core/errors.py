"""Errors that carry a message meant for the user, shown without a traceback."""


class UserError(Exception):
    """Bad input or a missing prerequisite: the message says what and how to fix it."""
