"""Grids as the office sees them: communities with their grids nested under them."""

from __future__ import annotations

from ..storage import Storage


def tree(grids: list[dict]) -> list[dict]:
    """Depth-first rows ``{**grid, "depth", "path"}``: each community, then its grids,
    children under their parent, siblings by name. ``path`` is "社区 › 网格"."""
    children: dict[str | None, list[dict]] = {}
    for grid in grids:
        children.setdefault(grid["parent"], []).append(grid)
    for kids in children.values():
        kids.sort(key=lambda g: (g["name"], g["id"]))
    out: list[dict] = []

    def walk(parent: str | None, depth: int, path: str) -> None:
        for grid in children.get(parent, []):
            here = f"{path} › {grid['name']}" if path else grid["name"]
            out.append({**grid, "depth": depth, "path": here})
            walk(grid["id"], depth + 1, here)

    walk(None, 0, "")
    return out


def grid_rows(store: Storage) -> list[dict]:
    return tree(store.directory.grids())


def names(store: Storage) -> dict[str, str]:
    """grid id → its path ("社区 › 网格")."""
    return {row["id"]: row["path"] for row in grid_rows(store)}


def communities(store: Storage) -> list[dict]:
    return [g for g in grid_rows(store) if g["parent"] is None]
