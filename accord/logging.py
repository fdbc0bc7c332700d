"""Log lines as `event key=value ...`, carrying only ids, never personal data."""

import logging

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(
            f"{key}={value}"
            for key, value in sorted(record.__dict__.items())
            if key not in _STANDARD
        )
        line = f"{self.formatTime(record)} {record.levelname} {record.name} {record.getMessage()}"
        if extras:
            line = f"{line} {extras}"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


class RefusalsWithoutTraceback(logging.Filter):
    """Keeps the line Django logs for a refused request (4xx) but drops its traceback.

    Django logs a 403 or 404 with the exception that answered it, so every
    permission refusal filled the log with a traceback of PermissionDenied;
    the request was the client's mistake, not the server's, and the line
    alone says what happened. Server errors (5xx) keep their traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
