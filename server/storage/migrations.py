"""Numbered schema migrations, applied in order at start-up.

Each migration is a list of SQL statements run in one transaction together
with the bump of ``PRAGMA user_version``. Never edit a released migration:
append a new one. Tests apply them from an empty database and from every
earlier version.
"""

from __future__ import annotations

from .connection import Database
from .errors import StorageError


class SchemaTooNew(StorageError, RuntimeError):
    """The database was migrated by a newer gridsync (user_version above LATEST)."""

MIGRATIONS: list[list[str]] = [
    # 1: people, grids, devices, tokens, sync records, ledger.
    [
        """CREATE TABLE grids (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, parent TEXT REFERENCES grids(id),
            community TEXT NOT NULL, created_at TEXT NOT NULL)""",
        "CREATE INDEX grids_parent ON grids(parent)",
        """CREATE TABLE shops (
            id TEXT PRIMARY KEY, name TEXT NOT NULL,
            community TEXT NOT NULL REFERENCES grids(id), created_at TEXT NOT NULL)""",
        """CREATE TABLE people (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
            shop TEXT REFERENCES shops(id), community TEXT REFERENCES grids(id),
            active INTEGER NOT NULL DEFAULT 1, card_hash TEXT, created_at TEXT NOT NULL)""",
        """CREATE TABLE person_grids (
            person TEXT NOT NULL REFERENCES people(id), grid TEXT NOT NULL REFERENCES grids(id),
            PRIMARY KEY (person, grid)) WITHOUT ROWID""",
        "CREATE INDEX person_grids_grid ON person_grids(grid, person)",
        """CREATE TABLE devices (
            id TEXT PRIMARY KEY, person TEXT NOT NULL REFERENCES people(id),
            name TEXT NOT NULL, public_key TEXT NOT NULL, created_at TEXT NOT NULL,
            revoked_at TEXT, last_sync_at TEXT,
            applied INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0)""",
        """CREATE TABLE tokens (
            id TEXT PRIMARY KEY, person TEXT NOT NULL REFERENCES people(id),
            device TEXT REFERENCES devices(id), secret_hash TEXT NOT NULL,
            created_at TEXT NOT NULL, revoked_at TEXT)""",
        """CREATE TABLE enrollments (
            code_hash TEXT PRIMARY KEY, person TEXT NOT NULL REFERENCES people(id),
            created_at TEXT NOT NULL, expires_at TEXT NOT NULL, used_at TEXT)""",
        "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE rate_limits (
            key TEXT PRIMARY KEY, window_start INTEGER NOT NULL, count INTEGER NOT NULL)""",
        """CREATE TABLE catalog (
            shop TEXT NOT NULL REFERENCES shops(id), sku TEXT NOT NULL, name TEXT NOT NULL,
            price INTEGER NOT NULL, stock INTEGER NOT NULL, updated_at TEXT NOT NULL,
            PRIMARY KEY (shop, sku))""",
        """CREATE TABLE rules (
            version INTEGER PRIMARY KEY, body TEXT NOT NULL, hash TEXT NOT NULL,
            created_at TEXT NOT NULL)""",
        """CREATE TABLE signing_keys (
            key_id TEXT PRIMARY KEY, public_key TEXT NOT NULL, encrypted_private BLOB NOT NULL,
            created_at TEXT NOT NULL, retired_at TEXT)""",
        # Sync: one row per record holding its current state; seq is the
        # server change sequence and moves forward on every new version.
        """CREATE TABLE records (
            collection TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL UNIQUE,
            version INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
            grid TEXT, person TEXT, author TEXT, state TEXT NOT NULL, updated_at TEXT NOT NULL,
            PRIMARY KEY (collection, id))""",
        "CREATE INDEX records_grid ON records(grid, seq)",
        "CREATE INDEX records_person ON records(person, seq)",
        """CREATE TABLE ops (
            op TEXT NOT NULL UNIQUE, device TEXT NOT NULL, collection TEXT NOT NULL,
            record TEXT NOT NULL, digest TEXT NOT NULL, change TEXT NOT NULL,
            status TEXT NOT NULL, version INTEGER, error_code TEXT, error_message TEXT,
            received_at TEXT NOT NULL)""",
        """CREATE TABLE conflicts (
            id INTEGER PRIMARY KEY, collection TEXT NOT NULL, record TEXT NOT NULL,
            field TEXT NOT NULL, winner TEXT NOT NULL, loser TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'open', created_at TEXT NOT NULL,
            resolved_at TEXT, resolved_by TEXT, kept TEXT)""",
        "CREATE INDEX conflicts_status ON conflicts(status, id)",
        """CREATE TABLE scope_exits (
            seq INTEGER PRIMARY KEY, collection TEXT NOT NULL, id TEXT NOT NULL,
            grid TEXT NOT NULL, at TEXT NOT NULL)""",
        "CREATE INDEX scope_exits_grid ON scope_exits(grid, seq)",
        # Ledger: append-only entries; the partial unique indexes make
        # "earned once", "redeemed once" and "reversed once" hold in the schema.
        """CREATE TABLE entries (
            seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
            debit TEXT NOT NULL, credit TEXT NOT NULL, amount INTEGER NOT NULL,
            ref TEXT NOT NULL, at TEXT NOT NULL, hash TEXT NOT NULL, body TEXT NOT NULL)""",
        "CREATE UNIQUE INDEX entries_once ON entries(kind, ref) "
        "WHERE kind IN ('earn', 'redeem', 'reverse')",
        "CREATE INDEX entries_debit ON entries(debit, seq)",
        "CREATE INDEX entries_credit ON entries(credit, seq)",
        """CREATE TABLE balances (
            account TEXT PRIMARY KEY, balance INTEGER NOT NULL, as_of INTEGER NOT NULL)""",
        """CREATE TABLE daily_points (
            volunteer TEXT NOT NULL, local_date TEXT NOT NULL, points INTEGER NOT NULL,
            PRIMARY KEY (volunteer, local_date)) WITHOUT ROWID""",
        """CREATE TABLE requests (
            id TEXT NOT NULL, kind TEXT NOT NULL, digest TEXT NOT NULL, actor TEXT NOT NULL,
            response TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (kind, id))""",
        """CREATE TABLE redemptions (
            id TEXT PRIMARY KEY, shop TEXT NOT NULL REFERENCES shops(id),
            volunteer TEXT NOT NULL REFERENCES people(id), items TEXT NOT NULL,
            total INTEGER NOT NULL, at TEXT NOT NULL, entry_seq INTEGER NOT NULL)""",
    ],
    # 2: web sign-in (server/storage/web.py): logins with scrypt hashes and
    # lock-out, sessions and one-time personal links stored by hash only.
    [
        """CREATE TABLE web_logins (
            person TEXT PRIMARY KEY REFERENCES people(id), login TEXT NOT NULL UNIQUE,
            secret_hash TEXT NOT NULL, failed INTEGER NOT NULL DEFAULT 0, locked_until TEXT,
            updated_at TEXT NOT NULL)""",
        """CREATE TABLE web_sessions (
            id_hash TEXT PRIMARY KEY, person TEXT NOT NULL REFERENCES people(id),
            csrf TEXT NOT NULL, token TEXT REFERENCES tokens(id), created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL)""",
        "CREATE INDEX web_sessions_person ON web_sessions(person)",
        "CREATE INDEX web_sessions_expires ON web_sessions(expires_at)",
        """CREATE TABLE web_links (
            token_hash TEXT PRIMARY KEY, person TEXT NOT NULL REFERENCES people(id),
            created_at TEXT NOT NULL, expires_at TEXT NOT NULL, used_at TEXT)""",
    ],
    # 3: the database's history epoch (renewed by a restore) and the key that
    # authenticates pull cursors, both random.
    [
        "INSERT OR IGNORE INTO settings (key, value) VALUES ('epoch', lower(hex(randomblob(8))))",
        "INSERT OR IGNORE INTO settings (key, value) "
        "VALUES ('cursor_key', lower(hex(randomblob(32))))",
    ],
    # 4: cases (server/storage/cases.py). A case's state is a sync record; this
    # index holds what lists and the 办结率 report filter and count on. Report
    # codes are public (printed on notice boards) and stored as they are, so a
    # poster can be printed again; receipts are secrets, stored hashed.
    [
        """CREATE TABLE cases (
            pos INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, grid TEXT NOT NULL,
            community TEXT NOT NULL, kind TEXT NOT NULL, category TEXT NOT NULL,
            status TEXT NOT NULL, assignee TEXT, difficulty INTEGER NOT NULL,
            rating INTEGER, points INTEGER, created_at TEXT NOT NULL, due_at TEXT,
            done_at TEXT, closed_at TEXT, hours_to_close INTEGER, updated_at TEXT NOT NULL)""",
        "CREATE INDEX cases_received ON cases(community, created_at, grid, category, status, "
        "rating, due_at, hours_to_close)",
        "CREATE INDEX cases_grid ON cases(grid, status)",
        "CREATE INDEX cases_assignee ON cases(assignee)",
        """CREATE TABLE case_steps (
            case_id TEXT NOT NULL, n INTEGER NOT NULL, status TEXT NOT NULL, by_person TEXT,
            at TEXT NOT NULL, op TEXT, PRIMARY KEY (case_id, n))""",
        """CREATE TABLE report_codes (
            code TEXT PRIMARY KEY, grid TEXT NOT NULL REFERENCES grids(id),
            created_at TEXT NOT NULL, replaced_at TEXT)""",
        "CREATE INDEX report_codes_grid ON report_codes(grid)",
        """CREATE TABLE case_receipts (
            receipt_hash TEXT PRIMARY KEY, case_id TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL)""",
    ],
    # 5: households as the office searches them (server/storage/fielddata.py): one row
    # per household record, kept by triggers on records; its FTS5 trigram index is
    # made by sqlite-utils after the migrations (fielddata.ensure_search_index).
    [
        """CREATE TABLE household_index (
            rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, grid TEXT, address TEXT,
            head_name TEXT, phone TEXT, members INTEGER, deleted INTEGER NOT NULL DEFAULT 0)""",
        "CREATE INDEX household_index_grid ON household_index(grid, deleted)",
        *(f"""CREATE TRIGGER records_households_{event} AFTER {event.upper()} ON records
            WHEN new.collection = 'households' BEGIN
              INSERT INTO household_index (id, grid, address, head_name, phone, members, deleted)
              VALUES (new.id, new.grid, json_extract(new.state, '$.fields.address'),
                      json_extract(new.state, '$.fields.head_name'),
                      json_extract(new.state, '$.fields.phone'),
                      json_extract(new.state, '$.fields.members'), new.deleted)
              ON CONFLICT (id) DO UPDATE SET grid = excluded.grid, address = excluded.address,
                head_name = excluded.head_name, phone = excluded.phone,
                members = excluded.members, deleted = excluded.deleted;
            END""" for event in ("insert", "update")),
        """CREATE TRIGGER records_households_delete AFTER DELETE ON records
            WHEN old.collection = 'households' BEGIN
              DELETE FROM household_index WHERE id = old.id;
            END""",
        """INSERT INTO household_index (id, grid, address, head_name, phone, members, deleted)
           SELECT id, grid, json_extract(state, '$.fields.address'),
                  json_extract(state, '$.fields.head_name'), json_extract(state, '$.fields.phone'),
                  json_extract(state, '$.fields.members'), deleted
           FROM records WHERE collection = 'households'""",
        # Roster imports (server/storage/imports.py): the uploaded file, its dry run
        # and the progress of writing it.
        """CREATE TABLE import_jobs (
            id TEXT PRIMARY KEY, filename TEXT NOT NULL, file BLOB NOT NULL,
            created_by TEXT NOT NULL, created_at TEXT NOT NULL, status TEXT NOT NULL,
            total INTEGER NOT NULL DEFAULT 0, done INTEGER NOT NULL DEFAULT 0,
            plan TEXT, result TEXT, updated_at TEXT NOT NULL)""",
    ],
    # 6: cards kept sealed beside their hash (server/cards.py) so a volunteer can
    # see their card again; a shop's redemptions listed by day.
    [
        "ALTER TABLE people ADD COLUMN card_sealed TEXT",
        "CREATE INDEX redemptions_shop_at ON redemptions(shop, at)",
        "CREATE INDEX redemptions_volunteer_at ON redemptions(volunteer, at)",
    ],
    # 7: anchors (docs/protocol.md, Anchors). Each later signing key carries its
    # predecessor's endorsement (existing keys are endorsed from their sealed
    # predecessors at start-up: that needs the secret, which SQL does not
    # have); the Merkle tree over the entries is kept as its perfect subtrees
    # (level 0: leaf hashes), filled in for existing entries on first use.
    [
        "ALTER TABLE signing_keys ADD COLUMN endorsement TEXT",
        """CREATE TABLE merkle_nodes (
            level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
            PRIMARY KEY (level, idx)) WITHOUT ROWID""",
    ],
    # 8: the 办结率 tally (server/storage/cases.py): per community, grid and local
    # day of receipt, the count of cases by (category, status, rating, hours to
    # close), kept in step with the case index, so a report over a million cases
    # adds up a few thousand rows. Built (and rebuilt when the rules' time zone
    # changes) on first use; open cases by due date for the overdue count.
    [
        "ALTER TABLE cases ADD COLUMN day TEXT",
        """CREATE TABLE case_tally (
            community TEXT NOT NULL, grid TEXT NOT NULL, day TEXT NOT NULL,
            counts TEXT NOT NULL, PRIMARY KEY (community, grid, day))""",
        "CREATE INDEX cases_open ON cases(community, status, due_at)",
    ],
]

LATEST = len(MIGRATIONS)


def current_version(db: Database) -> int:
    return int(db.scalar("PRAGMA user_version"))


def migrate(db: Database, target: int = LATEST) -> int:
    """Apply pending migrations up to ``target``; returns the version reached."""
    while True:
        with db.transaction():
            version = current_version(db)
            if version > LATEST:
                raise SchemaTooNew(
                    f"database schema version {version} is newer than this gridsync "
                    f"({LATEST}): upgrade gridsync")
            if version >= target:
                return version
            for sql in MIGRATIONS[version]:
                db.execute(sql)
            db.execute(f"PRAGMA user_version = {version + 1}")
