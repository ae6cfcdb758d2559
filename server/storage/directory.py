"""Grids, shops, people, cards, catalog and earning rules."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .connection import Database
from .errors import Conflict, Missing


@dataclass(frozen=True)
class GridReach:
    """A person's grids (``own``, sorted), every grid under them (``below``, theirs
    included), above them (``above``, theirs included) and the people holding any grid
    below or above."""

    own: list[str]
    below: set[str]
    above: set[str]
    people: set[str]


class DirectoryStore:
    def __init__(self, db: Database):
        self.db = db

    # --- grids -----------------------------------------------------------
    def add_grid(self, *, id: str, name: str, parent: str | None, at: str) -> dict:
        """Raises Conflict if the id exists, Missing if the parent does not."""
        if self.db.one("SELECT 1 FROM grids WHERE id = ?", (id,)):
            raise Conflict("grid", id)
        community = id
        if parent is not None:
            row = self.db.one("SELECT community FROM grids WHERE id = ?", (parent,))
            if row is None:
                raise Missing("grid", parent)
            community = row["community"]
        self.db.execute(
            "INSERT INTO grids (id, name, parent, community, created_at) VALUES (?, ?, ?, ?, ?)",
            (id, name, parent, community, at),
        )
        return self.grid(id)  # type: ignore[return-value]

    def rename_grid(self, id: str, name: str) -> None:
        self.db.execute("UPDATE grids SET name = ? WHERE id = ?", (name, id))

    def sibling_named(self, parent: str | None, name: str, *, besides: str = "") -> str | None:
        """The id of a grid under ``parent`` (None: a community) named ``name`` (spaces
        around it ignored), other than ``besides``; None when there is none. Compared in
        Python: SQL's TRIM strips ASCII spaces only, and a full-width space (U+3000, typed
        by a Chinese keyboard in full-width mode) would make two names that read the same
        differ."""
        where = "parent IS NULL" if parent is None else "parent = ?"
        wanted = name.strip()
        rows = self.db.query(f"SELECT id, name FROM grids WHERE {where} AND id <> ?",
                             (*(() if parent is None else (parent,)), besides))
        return next((row[0] for row in rows if row[1].strip() == wanted), None)

    def grid(self, id: str) -> dict | None:
        row = self.db.one("SELECT id, name, parent, community FROM grids WHERE id = ?", (id,))
        return dict(row) if row else None

    def grids(self) -> list[dict]:
        return [dict(r) for r in self.db.query(
            "SELECT id, name, parent, community FROM grids ORDER BY id")]

    def descendants(self, grid_ids: list[str]) -> set[str]:
        """The grids themselves and every grid under them."""
        if not grid_ids:
            return set()
        rows = self.db.query(
            f"""WITH RECURSIVE sub(id) AS (
                   {self.db.sql.json_values('?')}
                   UNION SELECT g.id FROM grids g JOIN sub ON g.parent = sub.id)
               SELECT id FROM sub""",
            (json.dumps(grid_ids),),
        )
        return {r[0] for r in rows}

    def ancestors(self, grid_ids: list[str]) -> set[str]:
        """The grids themselves and every grid above them."""
        if not grid_ids:
            return set()
        rows = self.db.query(
            f"""WITH RECURSIVE up(id) AS (
                   {self.db.sql.json_values('?')}
                   UNION SELECT g.parent FROM grids g JOIN up ON g.id = up.id
                   WHERE g.parent IS NOT NULL)
               SELECT id FROM up""",
            (json.dumps(grid_ids),),
        )
        return {r[0] for r in rows}

    def reach(self, person: str) -> GridReach:
        """``person``'s own grids, the grids under and above them and who holds any of
        those, in one query (what a device's scope is made of, read on every sync):
        ``descendants``, ``ancestors`` and ``people_in_grids`` of the person's grids."""
        reach = GridReach([], set(), set(), set())
        for kind, id in self.db.query(
                """WITH RECURSIVE own(id) AS (SELECT grid FROM person_grids WHERE person = ?),
                   sub(id) AS (SELECT id FROM own
                               UNION SELECT g.id FROM grids g JOIN sub ON g.parent = sub.id),
                   up(id) AS (SELECT id FROM own
                              UNION SELECT g.parent FROM grids g JOIN up ON g.id = up.id
                              WHERE g.parent IS NOT NULL)
                   SELECT 'own', id FROM own
                   UNION ALL SELECT 'below', id FROM sub
                   UNION ALL SELECT 'above', id FROM up
                   UNION ALL SELECT DISTINCT 'people', person FROM person_grids
                     WHERE grid IN (SELECT id FROM sub UNION SELECT id FROM up)""",
                (person,)):
            if kind == "own":
                reach.own.append(id)
            else:
                getattr(reach, kind).add(id)
        reach.own.sort()
        return reach

    # --- shops -----------------------------------------------------------
    def add_shop(self, *, id: str, name: str, community: str, at: str) -> dict:
        if self.db.one("SELECT 1 FROM shops WHERE id = ?", (id,)):
            raise Conflict("shop", id)
        self.db.execute(
            "INSERT INTO shops (id, name, community, created_at) VALUES (?, ?, ?, ?)",
            (id, name, community, at),
        )
        return self.shop(id)  # type: ignore[return-value]

    def shop(self, id: str) -> dict | None:
        row = self.db.one("SELECT id, name, community FROM shops WHERE id = ?", (id,))
        return dict(row) if row else None

    def shops(self) -> list[dict]:
        return [dict(r) for r in self.db.query("SELECT id, name, community FROM shops ORDER BY id")]

    # --- people ----------------------------------------------------------
    def add_person(self, *, id: str, name: str, role: str, grids: list[str],
                   shop: str | None, community: str | None, at: str) -> dict:
        if self.db.one("SELECT 1 FROM people WHERE id = ?", (id,)):
            raise Conflict("person", id)
        self.db.execute(
            "INSERT INTO people (id, name, role, shop, community, active, created_at) "
            "VALUES (?, ?, ?, ?, ?, 1, ?)",
            (id, name, role, shop, community, at),
        )
        self.set_grids(id, grids)
        return self.person(id)  # type: ignore[return-value]

    def set_grids(self, person: str, grids: list[str]) -> None:
        self.db.execute("DELETE FROM person_grids WHERE person = ?", (person,))
        self.db.executemany(
            "INSERT INTO person_grids (person, grid) VALUES (?, ?)", [(person, g) for g in grids]
        )

    def update_person(self, id: str, **changes: Any) -> None:
        allowed = {"name", "active", "community"}
        sets = {k: int(v) if isinstance(v, bool) else v
                for k, v in changes.items() if k in allowed}
        if sets:
            cols = ", ".join(f"{k} = ?" for k in sets)
            self.db.execute(f"UPDATE people SET {cols} WHERE id = ?", (*sets.values(), id))

    def person(self, id: str) -> dict | None:
        row = self.db.one(
            "SELECT id, name, role, shop, community, active FROM people WHERE id = ?", (id,))
        if row is None:
            return None
        person = dict(row)
        person["active"] = bool(person["active"])
        person["grids"] = [r[0] for r in self.db.query(
            "SELECT grid FROM person_grids WHERE person = ? ORDER BY grid", (id,))]
        return person

    def people(self) -> list[dict]:
        grids: dict[str, list[str]] = {}
        for r in self.db.query("SELECT person, grid FROM person_grids ORDER BY person, grid"):
            grids.setdefault(r[0], []).append(r[1])
        out = []
        for row in self.db.query(
                "SELECT id, name, role, shop, community, active FROM people ORDER BY id"):
            person = dict(row)
            person["active"] = bool(person["active"])
            person["grids"] = grids.get(person["id"], [])
            out.append(person)
        return out

    def people_in_grids(self, grid_ids: set[str]) -> set[str]:
        if not grid_ids:
            return set()
        rows = self.db.query(
            "SELECT DISTINCT person FROM person_grids WHERE grid IN "
            f"({self.db.sql.json_values('?')})", (json.dumps(sorted(grid_ids)),))
        return {r[0] for r in rows}

    def set_card(self, person: str, card_hash: str, sealed: str | None) -> None:
        self.db.execute("UPDATE people SET card_hash = ?, card_sealed = ? WHERE id = ?",
                        (card_hash, sealed, person))

    def card_hash(self, person: str) -> str | None:
        return self.db.scalar("SELECT card_hash FROM people WHERE id = ?", (person,))

    def card_sealed(self, person: str) -> str | None:
        return self.db.scalar("SELECT card_sealed FROM people WHERE id = ?", (person,))

    # --- catalog ---------------------------------------------------------
    def put_item(self, *, shop: str, sku: str, name: str, price: int, stock: int, at: str) -> dict:
        self.db.execute(
            """INSERT INTO catalog (shop, sku, name, price, stock, updated_at)
               VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (shop, sku) DO UPDATE SET name = excluded.name,
                   price = excluded.price, stock = excluded.stock,
                   updated_at = excluded.updated_at""",
            (shop, sku, name, price, stock, at),
        )
        return self.item(shop, sku)  # type: ignore[return-value]

    def item(self, shop: str, sku: str) -> dict | None:
        row = self.db.one(
            "SELECT sku, name, price, stock FROM catalog WHERE shop = ? AND sku = ?", (shop, sku))
        return dict(row) if row else None

    def catalog(self, shop: str) -> list[dict]:
        return [dict(r) for r in self.db.query(
            "SELECT sku, name, price, stock FROM catalog WHERE shop = ? ORDER BY sku", (shop,))]

    def remove_item(self, shop: str, sku: str) -> bool:
        cur = self.db.execute("DELETE FROM catalog WHERE shop = ? AND sku = ?", (shop, sku))
        return cur.rowcount == 1

    def add_stock(self, shop: str, sku: str, qty: int, at: str) -> bool:
        """Increase stock (a delivery, or a refund putting items back); False if no such item."""
        cur = self.db.execute(
            "UPDATE catalog SET stock = stock + ?, updated_at = ? WHERE shop = ? AND sku = ?",
            (qty, at, shop, sku))
        return cur.rowcount == 1

    def take_stock(self, shop: str, sku: str, qty: int) -> bool:
        """Decrement stock if enough is left; False (and no change) otherwise."""
        cur = self.db.execute(
            "UPDATE catalog SET stock = stock - ? WHERE shop = ? AND sku = ? AND stock >= ?",
            (qty, shop, sku, qty))
        return cur.rowcount == 1

    # --- earning rules ---------------------------------------------------
    def put_rules(self, body: dict, rules_hash: str, at: str) -> int:
        (row,) = self.db.query(
            "INSERT INTO rules (body, hash, created_at) VALUES (?, ?, ?) RETURNING version",
            (json.dumps(body, sort_keys=True, ensure_ascii=False), rules_hash, at))
        return int(row[0])

    def rules_by_hash(self, rules_hash: str) -> dict | None:
        """The rules body once PUT with this hash (the newest such), else None."""
        row = self.db.one("SELECT body FROM rules WHERE hash = ? ORDER BY version DESC LIMIT 1",
                          (rules_hash,))
        return json.loads(row["body"]) if row else None

    def rules(self) -> tuple[dict, str] | None:
        row = self.db.one("SELECT body, hash FROM rules ORDER BY version DESC LIMIT 1")
        return (json.loads(row["body"]), row["hash"]) if row else None
