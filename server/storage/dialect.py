"""The few SQL fragments that differ between SQLite and PostgreSQL.

Stores write one statement for both databases and ask ``db.sql`` for these
pieces; everything else (``ON CONFLICT``, ``RETURNING``, window functions,
partial indexes, recursive CTEs) is the same on both.
"""

from __future__ import annotations


class Dialect:
    name: str

    def json_values(self, param: str) -> str:
        """A SELECT yielding the text elements of the JSON array bound at ``param``."""
        raise NotImplementedError

    def json_text(self, column: str, *path: str) -> str:
        """The value at ``path`` inside the JSON text in ``column``, as SQL text or number."""
        raise NotImplementedError

    def json_number(self, column: str, *path: str) -> str:
        """The number at ``path`` inside the JSON text in ``column`` (for sums)."""
        raise NotImplementedError

    def json_items(self, column: str, alias: str, *path: str) -> str:
        """A FROM item ``alias`` with one row per element (as text, in ``alias.value``) of
        the JSON array at ``path`` in ``column``; none when it is missing or not an array."""
        raise NotImplementedError

    def local_month(self, at: str, shift: str) -> str:
        """"YYYY-MM" of the RFC 3339 time ``at`` moved by ``shift`` (a parameter bound to
        text like "+480 minutes")."""
        raise NotImplementedError

    def lookup_join(self, table: str, alias: str, key: str, value: str) -> str:
        """LEFT JOIN of ``table`` AS ``alias`` on ``alias.key = value``, each row looked up
        through ``key``'s index."""
        raise NotImplementedError

    def contains(self, text: str, part: str) -> str:
        """True where ``part`` occurs in ``text``, exactly (a scan, no pattern)."""
        raise NotImplementedError

    #: LIKE that ignores case (SQLite's LIKE ignores ASCII case; PostgreSQL's ILIKE any).
    ilike: str = "LIKE"

    def nul_free(self, column: str) -> str:
        """The JSON text in ``column``, readable by this database's JSON functions."""
        raise NotImplementedError

    def greatest(self, *exprs: str) -> str:
        raise NotImplementedError

    def random_hex(self, nbytes: int) -> str:
        """An expression giving ``2 * nbytes`` random lowercase hex digits."""
        raise NotImplementedError

    def unindexed(self, column: str) -> str:
        """``column``, kept from steering the planner to an index on it (where the
        planner needs telling: see RecordStore's pull predicate)."""
        return column

    def one_statement(self, *writes: str) -> str | None:
        """``writes`` (INSERT statements returning no rows, each holding its own
        parameters, bound in order) as one statement, or None where the database runs
        them only one by one. PostgreSQL's data-modifying CTEs send them in one round
        trip: each runs once and all see one snapshot, so they must not read each
        other's rows (a ledger append's rows: bench/postgres.py, pg_ledger_append)."""
        return None


class _Sqlite(Dialect):
    name = "sqlite"

    def unindexed(self, column: str) -> str:
        return f"+{column}"  # SQLite's documented way to disqualify a term for an index

    def json_values(self, param: str) -> str:
        return f"SELECT value FROM json_each({param})"

    def json_text(self, column: str, *path: str) -> str:
        return f"json_extract({column}, '$.{'.'.join(path)}')"

    def nul_free(self, column: str) -> str:
        return column  # SQLite's JSON functions read a \u0000 inside a string

    def json_number(self, column: str, *path: str) -> str:
        return self.json_text(column, *path)

    def json_items(self, column: str, alias: str, *path: str) -> str:
        # json_each of a scalar (a null list) would give one row: only arrays are opened.
        where = f"'$.{'.'.join(path)}'"
        return (f"json_each(CASE WHEN json_type({column}, {where}) = 'array' "
                f"THEN json_extract({column}, {where}) END) {alias}")

    def local_month(self, at: str, shift: str) -> str:
        return f"strftime('%Y-%m', {at}, {shift})"

    def lookup_join(self, table: str, alias: str, key: str, value: str) -> str:
        return f"LEFT JOIN {table} AS {alias} ON {alias}.{key} = {value}"

    def contains(self, text: str, part: str) -> str:
        return f"instr({text}, {part}) > 0"

    def greatest(self, *exprs: str) -> str:
        return f"max({', '.join(exprs)})"

    def random_hex(self, nbytes: int) -> str:
        return f"lower(hex(randomblob({nbytes})))"


class _Postgresql(Dialect):
    name = "postgresql"

    def json_values(self, param: str) -> str:
        return f"SELECT jsonb_array_elements_text(CAST({param} AS jsonb)) COLLATE \"C\""

    def json_text(self, column: str, *path: str) -> str:
        return f"(CAST({self.nul_free(column)} AS json) #>> '{{{','.join(path)}}}')"

    def nul_free(self, column: str) -> str:
        """The JSON text in ``column`` with every escaped NUL (``\\u0000``) dropped.

        PostgreSQL's JSON functions refuse a \\u0000 anywhere in the text (SQLite keeps
        it); lookups only ever read ids and names, so it is dropped for them. Only a
        real escape goes: a string holding a backslash and "u0000" is written
        ``\\\\u0000`` and stays (a plain replace would break the JSON there).
        """
        return (f"CASE WHEN strpos({column}, '\\u0000') > 0 THEN regexp_replace({column}, "
                f"'(?<!\\\\)((?:\\\\\\\\)*)\\\\u0000', '\\1', 'g') ELSE {column} END")

    def json_number(self, column: str, *path: str) -> str:
        return f"CAST({self.json_text(column, *path)} AS numeric)"

    def json_items(self, column: str, alias: str, *path: str) -> str:
        value = f"(CAST({self.nul_free(column)} AS json) #> '{{{','.join(path)}}}')"
        return (f"json_array_elements_text(CASE WHEN json_typeof({value}) = 'array' "
                f"THEN {value} END) AS {alias}(value)")

    def local_month(self, at: str, shift: str) -> str:
        return f"to_char(CAST({at} AS timestamptz) + CAST({shift} AS interval), 'YYYY-MM')"

    def lookup_join(self, table: str, alias: str, key: str, value: str) -> str:
        # A plain join of a pulled page's seqs with pull_views was a hash join over a scan
        # of the whole table (all 20,000 views read for a page of 500), and so was a plain
        # LATERAL subquery, which the planner flattens into the join: its LIMIT keeps it a
        # subquery, one index lookup a row whatever the table's size.
        return (f"LEFT JOIN LATERAL (SELECT * FROM {table} WHERE {key} = {value} LIMIT 1) "
                f"AS {alias} ON true")

    def contains(self, text: str, part: str) -> str:
        return f"strpos({text}, {part}) > 0"

    ilike = "ILIKE"

    def greatest(self, *exprs: str) -> str:
        return f"GREATEST({', '.join(exprs)})"

    def one_statement(self, *writes: str) -> str | None:
        *first, last = writes
        if not first:
            return last
        return "WITH " + ", ".join(f"w{i} AS ({sql})" for i, sql in enumerate(first)) + " " + last

    def random_hex(self, nbytes: int) -> str:
        # gen_random_uuid() is built in (PostgreSQL 13+): 32 hex digits, 122 random bits each.
        uuids = " || ".join(["replace(CAST(gen_random_uuid() AS text), '-', '')"]
                            * (nbytes // 15 + 1))
        return f"substr({uuids}, 1, {2 * nbytes})"


SQLITE: Dialect = _Sqlite()
POSTGRESQL: Dialect = _Postgresql()
