"""Keep the postback token out of access logs.

Networks put the token in the postback URL's query (the seed's scheme), and both werkzeug's server and
gunicorn log each request line with its query. A filter on their access loggers masks ``token=`` values
before any handler writes the line.
"""

import logging
import re

ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")
_TOKEN_IN_QUERY = re.compile(r"([?&]token=)[^&\s\"]+")


class TokenScrubber(logging.Filter):
    """Replace the value of every ``token=`` query parameter in a log line with ``…``."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record that cannot be formatted is left to the handler to report
            return True
        if "token=" in message:
            record.msg, record.args = _TOKEN_IN_QUERY.sub(r"\1…", message), None
        return True


def install() -> None:
    """Add the filter to the access loggers, once."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, TokenScrubber) for existing in logger.filters):
            logger.addFilter(TokenScrubber())
