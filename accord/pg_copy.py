"""Writing many plain rows into a PostgreSQL table with one COPY."""

from collections.abc import Iterable

from django.db import connection


def copy_rows(table: str, columns: Iterable[str], rows: Iterable[tuple]) -> None:
    """Stream `rows`, values in `columns` order, into `table` in the caller's transaction.

    COPY is several times faster than even a pipelined executemany, and no SQL
    is built per row. Values go as the driver writes them in COPY's text form,
    so a JSON column takes JSON text. PostgreSQL only.
    """
    quote = connection.ops.quote_name
    names = ", ".join(quote(column) for column in columns)
    connection.ensure_connection()
    # Only quoted table and column names are put into the statement.
    with connection.connection.cursor() as cursor, cursor.copy(
            f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
