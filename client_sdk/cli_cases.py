"""``gridsync field case``: cases from the command line (open, list, claim, accept,
done, close, give-back, cancel). Registered on ``gridsync field`` by ``cli``."""

from __future__ import annotations

from typing import Any

import click

from . import cases as desk
from .cli import Context, _echo_json, friendly, pass_ctx


def _stepped(client: Any, what: str, record: dict[str, Any]) -> None:
    click.echo(f"case {record['id']} {what}; {client.pending_count()} change(s) waiting to sync")


@click.group()
def case() -> None:
    """Cases: problems and wishes to handle (群众上报, 巡查发现, 微心愿).

    \b
    Example:
      gridsync field case open --grid g1 --kind patrol --category road --title "井盖松动"
      gridsync field case list --mine
      gridsync field case accept CASE_ID && gridsync field sync
    """


@case.command("open")
@click.option("--grid", required=True, help="Grid the case is in.")
@click.option("--kind", type=click.Choice(["patrol", "report", "wish"]), default="patrol",
              show_default=True, help="Found on patrol, a resident's report, or a micro-wish.")
@click.option("--category", required=True, help="A category key from the rules.")
@click.option("--title", required=True, help="What is wrong, in a few words (1-200).")
@click.option("--detail", help="More detail (up to 4000 characters).")
@click.option("--household", help="The household it concerns.")
@click.option("--visit", help="The visit it was found on.")
@click.option("--reporter-name", help="Who reported it.")
@click.option("--reporter-phone", help="Their phone (up to 32 characters).")
@click.option("--due-at", help="Due by, RFC 3339 UTC.")
@pass_ctx
@friendly
def case_open(ctx: Context, **options: Any) -> None:
    """Open a case in one of your grids (workers).

    \b
    Example:
      gridsync field case open --grid g1 --category road --title "路灯坏了" --household H_ID
    """
    client = ctx.enrolled()
    record = desk.open_case(client, **options)
    _stepped(client, "opened", record)


@case.command("list")
@click.option("--status", type=click.Choice(
    ["open", "assigned", "accepted", "done", "closed", "cancelled"]))
@click.option("--mine", is_flag=True, help="Only cases assigned to me.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@friendly
def case_list(ctx: Context, status: str | None, mine: bool, as_json: bool) -> None:
    """The cases on this device (as last synced, with your pending steps).

    \b
    Example:
      gridsync field case list --status assigned --mine
    """
    rows = desk.cases(ctx.enrolled(), status=status, mine=mine)
    if as_json:
        _echo_json(rows)
        return
    if not rows:
        click.echo("no cases")
    for row in rows:
        f = row["fields"]
        pending = " (pending)" if row.get("pending") else ""
        click.echo(f"{row['id']}  {f.get('status', ''):9}  {f.get('grid', '')}  "
                   f"{f.get('title', '')}{pending}")


def _one(name: str, what: str, help_text: str, example: str) -> None:
    @case.command(name, help=f"{help_text}\n\n\b\nExample:\n  {example}")
    @click.argument("case_id")
    @pass_ctx
    @friendly
    def command(ctx: Context, case_id: str) -> None:
        client = ctx.enrolled()
        _stepped(client, what, getattr(desk, name.replace("-", "_"))(client, case_id))


_one("claim", "claimed", "Claim a micro-wish of your grids (认领).",
     "gridsync field case claim CASE_ID")
_one("accept", "accepted", "Accept a case assigned to you (接单).",
     "gridsync field case accept CASE_ID")
_one("give-back", "given back", "Give a case assigned to you back to the office (退回).",
     "gridsync field case give-back CASE_ID")


@case.command("done")
@click.argument("case_id")
@click.option("--resolution", required=True, help="What was done (1-4000 characters).")
@pass_ctx
@friendly
def case_done(ctx: Context, case_id: str, resolution: str) -> None:
    """Finish a case you accepted (办结); the resident or another worker closes it.

    \b
    Example:
      gridsync field case done CASE_ID --resolution "已更换灯泡"
    """
    client = ctx.enrolled()
    _stepped(client, "done", desk.done(client, case_id, resolution))


@case.command("close")
@click.argument("case_id")
@click.option("--rating", type=click.IntRange(1, 5), help="How well it was done, 1-5.")
@pass_ctx
@friendly
def case_close(ctx: Context, case_id: str, rating: int | None) -> None:
    """Confirm a done case (a worker of the grid who is not its assignee).

    \b
    Example:
      gridsync field case close CASE_ID --rating 5
    """
    client = ctx.enrolled()
    _stepped(client, "closed", desk.close(client, case_id, rating))


@case.command("cancel")
@click.argument("case_id")
@click.option("--reason", help="Why (kept as the resolution).")
@pass_ctx
@friendly
def case_cancel(ctx: Context, case_id: str, reason: str | None) -> None:
    """Cancel a case you opened while it is still open.

    \b
    Example:
      gridsync field case cancel CASE_ID --reason "重复"
    """
    client = ctx.enrolled()
    _stepped(client, "cancelled", desk.cancel(client, case_id, reason))
