"""``gridsync field volunteers | activities | conflicts``: what this phone knows, offline.
Registered on ``gridsync field`` by ``cli``."""

from __future__ import annotations

import click

from .cli import Context, _echo_json, friendly, pass_ctx
from .local import activities as rule_activities
from .local import show_when, timezone_of
from .local import volunteers as known_volunteers


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@friendly
def volunteers(ctx: Context, as_json: bool) -> None:
    """The volunteers of your grids this phone knows (from its last sync).

    \b
    Example:
      gridsync field volunteers
    """
    rows = known_volunteers(ctx.enrolled().people())
    if as_json:
        _echo_json({"volunteers": [{"id": r["id"], **r["fields"]} for r in rows]})
        return
    for row in rows:
        click.echo(f"{row['id']}  {row['fields'].get('name') or ''}  "
                   f"{', '.join(row['fields'].get('grids') or [])}")
    click.echo(f"{len(rows)} volunteer(s)" + ("" if rows else "; sync to fetch them"))


@click.command()
@pass_ctx
@friendly
def activities(ctx: Context) -> None:
    """The activities a service log may name, with their points an hour (from the rules
    this phone fetched at its last sync).

    \b
    Example:
      gridsync field activities
    """
    rules = ctx.enrolled().rules()
    if rules is None:
        raise click.ClickException("no rules on this phone yet: run `gridsync field sync` "
                                   "once with signal")
    for key, name, per_hour in rule_activities(rules):
        click.echo(f"{key}  {name}  {per_hour} points/hour")
    cap = rules.get("daily_cap")
    click.echo(f"daily cap: {cap} points" if cap else "no daily cap")
    click.echo(f"time zone: {timezone_of(rules).key}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@friendly
def conflicts(ctx: Context, as_json: bool) -> None:
    """Your changes the server kept as conflicts (another device changed the same field
    first); the office decides which value stays. Nothing was lost.

    \b
    Example:
      gridsync field conflicts
    """
    client = ctx.enrolled()
    rows = client.conflicts()
    if as_json:
        _echo_json({"conflicts": rows})
        return
    tz = timezone_of(client.rules())
    for row in rows:
        fields = ", ".join(f"{k}={v}" for k, v in sorted(row["fields"].items()))
        click.echo(f"{show_when(row['seen_at'], tz)}  {row['collection']} {row['id']}  "
                   f"{fields}")
    click.echo(f"{len(rows)} conflict(s)" + (": the office resolves them" if rows else ""))
