"""CSV lines safe to open in a spreadsheet: every export writes its rows through csv_line().

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a formula by
Excel, LibreOffice and Google Sheets (``=HYPERLINK(...)`` from a remote error message). As OWASP's
"CSV Injection" page advises, such a text cell gets a leading single quote (the csv module quotes
and escapes cells holding a comma, quote or line break); numbers (int, Decimal) are written as
they are, so a negative amount stays a number.
"""

import csv
import io
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """Return value as a spreadsheet must see it: text that could start a formula is prefixed with '."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_line(values: Iterable) -> str:
    """Return one CSV line (with its line ending) of values, each neutralised."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([neutralise(value) for value in values])
    return buffer.getvalue()
