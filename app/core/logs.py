"""What the server's log may not carry: e-mail addresses, tokens, session values.

The app's own lines name rows by id, never by address (a failed e-mail is « e-mail 12 », not its
recipient). But other text reaches the log too: an SMTP server's refusal quotes the recipient,
an exception's message may quote a value, a traceback shows arguments. PrivateDataFilter,
installed on the handlers of `bourse serve` and of every other `bourse` command
(app.ops.cli), rewrites each line before it is written: e-mail addresses become « <adresse> »
and anything shaped like a secret « <secret> »: a run of 32 or more letters, digits, `-` and
`_` with a capital letter in it (random tokens: personal API tokens, session and e-mailed
tokens, 43 characters of which all are lower case once in five billion) or made of hexadecimal
digits alone (their hashes). A need's slug in a path — lower-case words joined by hyphens —
is kept.
The database engines also keep statement parameters out of their errors (app.core.db,
hide_parameters).
"""

from __future__ import annotations

import logging
import re

_EMAIL = re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)+")
_LONG_RUN = re.compile(r"(?<![\w-])[\w-]{32,}(?![\w-])")
_HEX = re.compile(r"[0-9a-f]+")


def _secret_shaped(match: re.Match[str]) -> str:
    run = match.group(0)
    if _HEX.fullmatch(run) or any(c.isupper() for c in run):
        return "<secret>"
    return run


def redact(text: str) -> str:
    """`text` without e-mail addresses and secret-shaped strings."""
    return _LONG_RUN.sub(_secret_shaped, _EMAIL.sub("<adresse>", text))


class PrivateDataFilter(logging.Filter):
    """A handler's filter: the record's message and traceback, redacted (see the module)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            # The formatter writes exc_text when it is set: the redacted traceback.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


def install(handler: logging.Handler) -> None:
    """Adds the filter to `handler` once."""
    if not any(isinstance(f, PrivateDataFilter) for f in handler.filters):
        handler.addFilter(PrivateDataFilter())
