"""``gridsync field``: the reference field client on the command line.

A thin click layer over ``FieldClient``: every command's help has an
example; client errors become ``click.ClickException`` (a clear message and
exit status 1, never a traceback).
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import click

from ledger import VerificationError

from .client import FieldClient
from .errors import FieldClientError, InvalidInput
from .local import (
    activities,
    check_log,
    find_household,
    parse_when,
    short_id,
    show_when,
    timezone_of,
)
from .retry import RetryPolicy
from .syncer import SyncSummary

DEFAULT_DIR = "./gridsync-field"


class Context:
    def __init__(self, data_dir: str, attempts: int):
        self.data_dir = data_dir
        self.attempts = attempts
        self._client: FieldClient | None = None

    @property
    def client(self) -> FieldClient:
        if self._client is None:
            self._client = FieldClient(self.data_dir, retry=RetryPolicy(attempts=self.attempts))
        return self._client

    def enrolled(self) -> FieldClient:
        client = self.client
        if not client.enrolled:
            raise click.ClickException(
                f"not enrolled: {self.data_dir} holds no device. Run "
                "`gridsync field --dir DIR enroll URL CODE` first")
        return client


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Client errors → ClickException (exit 1) with the client's message."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InvalidInput as exc:   # its message already names each field's problem
            raise click.ClickException(str(exc)) from None
        except FieldClientError as exc:
            detail = _readable(getattr(exc, "fields", None))
            raise click.ClickException(f"{exc}{detail}") from None
        except VerificationError as exc:
            if exc.reason in ("consistency", "endorsement"):
                raise click.ClickException(
                    f"the server's ledger cannot be trusted: {exc}. The last checkpoint this "
                    "device verified is kept; tell the community office.") from None
            raise click.ClickException(f"ledger entry does not verify: {exc}") from None

    return wrapper


def _readable(fields: Any, prefix: str = "") -> str:
    """Field messages as indented ``name: message`` lines (nested names joined by '.')."""
    if not isinstance(fields, dict) or not fields:
        return ""
    lines = []
    for name, value in fields.items():
        if isinstance(value, dict):
            lines.append(_readable(value, f"{prefix}{name}."))
        else:
            text = " ".join(map(str, value)) if isinstance(value, list) else str(value)
            lines.append(f"\n  {prefix}{name}: {text}")
    return "".join(lines)


def _echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True))


def _recorded(client: FieldClient, what: str, record: dict[str, Any]) -> None:
    click.echo(f"{what} {record['id']} recorded; {client.pending_count()} change(s) "
               "waiting to sync")


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--dir", "data_dir", envvar="GRIDSYNC_FIELD_DIR", default=DEFAULT_DIR,
              show_default="$GRIDSYNC_FIELD_DIR or ./gridsync-field",
              type=click.Path(file_okay=False), help="The device's data dir (key, store).")
@click.option("--attempts", default=6, show_default=True, type=click.IntRange(1, 20),
              help="Tries per request before giving up (network errors, 429, 5xx).")
@click.pass_context
def field(ctx: click.Context, data_dir: str, attempts: int) -> None:
    """The reference field client: record visits offline, sync when there is signal.

    \b
    Example:
      gridsync field --dir ~/phone enroll http://gridsync.local:8000 ENR-K7Q2-M9XD-4TPA-X8WC
      gridsync field --dir ~/phone household add --grid g1 --address "3 栋 201"
      gridsync field --dir ~/phone sync
    """
    ctx.obj = Context(data_dir, attempts)
    ctx.call_on_close(lambda: ctx.obj._client.close() if ctx.obj._client else None)


@field.command()
@click.argument("url")
@click.argument("code")
@click.option("--name", default="field device", show_default=True, help="Device name shown "
              "to admins.")
@pass_ctx
@friendly
def enroll(ctx: Context, url: str, code: str, name: str) -> None:
    """Enrol this device with a one-time CODE from an admin (makes the device key).

    \b
    Example:
      gridsync field --dir ~/phone enroll http://gridsync.local:8000 \\
          ENR-K7Q2-M9XD-4TPA-X8WC --name "王芳的手机"
    """
    out = ctx.client.enroll(url, code, name)
    click.echo(f"enrolled device {out['device_id']} for {out['person']} ({out['role']}, "
               f"grids {', '.join(out['grids']) or '-'})")


# --- households ---------------------------------------------------------------------

def _household_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed([
        click.option("--address", help="Street address."),
        click.option("--head-name", help="Name of the head of household."),
        click.option("--members", type=click.IntRange(min=0), help="Number of members."),
        click.option("--tag", "tags", multiple=True, help="A tag (repeat for several)."),
        click.option("--phone", help="Contact phone."),
        click.option("--notes", help="Free notes."),
    ]):
        fn = option(fn)
    return fn


def _household_fields(address: str | None, head_name: str | None, members: int | None,
                      tags: tuple[str, ...], phone: str | None, notes: str | None
                      ) -> dict[str, Any]:
    fields = {"address": address, "head_name": head_name, "members": members,
              "tags": list(tags) if tags else None, "phone": phone, "notes": notes}
    return {k: v for k, v in fields.items() if v is not None}


@field.group()
def household() -> None:
    """Add, edit or delete households (offline; sent at the next sync).

    \b
    Example:
      gridsync field household add --grid g1 --address "幸福路 3 号 201" --members 3
    """


@household.command("add")
@click.option("--grid", required=True, help="Grid the household belongs to.")
@_household_options
@pass_ctx
@friendly
def household_add(ctx: Context, grid: str, **options: Any) -> None:
    """Record a new household.

    \b
    Example:
      gridsync field household add --grid g1 --address "幸福路 3 号 201" \\
          --head-name 张三 --members 3 --tag 独居老人
    """
    client = ctx.enrolled()
    _recorded(client, "household", client.add_household(grid, **_household_fields(**options)))


@household.command("edit")
@click.argument("household_ref", metavar="HOUSEHOLD")
@click.option("--grid", help="Move to another grid (you must hold both).")
@_household_options
@click.option("--clear", "clear", multiple=True,
              type=click.Choice(["address", "head_name", "members", "tags", "phone", "notes"]),
              help="Clear a field (repeat for several).")
@pass_ctx
@friendly
def household_edit(ctx: Context, household_ref: str, grid: str | None,
                   clear: tuple[str, ...], **options: Any) -> None:
    """Change some fields of HOUSEHOLD (others are left as they are).

    HOUSEHOLD is its short id from `gridsync field households` (any unique start
    or end of the id, at least 4 characters) or words of its address.

    \b
    Example:
      gridsync field household edit 3f9c2a --members 4 --clear phone
      gridsync field household edit "幸福路 3 号 201" --members 4
    """
    client = ctx.enrolled()
    household_id = find_household(client.households(), household_ref)
    fields = _household_fields(**options)
    if grid:
        fields["grid"] = grid
    fields.update({name: None for name in clear})
    client.edit_household(household_id, **fields)
    click.echo(f"household {household_id} changed; {client.pending_count()} change(s) "
               "waiting to sync")


@household.command("delete")
@click.argument("household_ref", metavar="HOUSEHOLD")
@pass_ctx
@friendly
def household_delete(ctx: Context, household_ref: str) -> None:
    """Delete HOUSEHOLD: its id, a unique id prefix or address words (a tombstone; a
    later edit elsewhere can bring it back).

    \b
    Example:
      gridsync field household delete 3f9c2a
    """
    client = ctx.enrolled()
    household_id = find_household(client.households(), household_ref)
    client.delete_household(household_id)
    click.echo(f"household {household_id} deleted; {client.pending_count()} change(s) "
               "waiting to sync")


@field.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--deleted", is_flag=True, help="Include deleted households.")
@pass_ctx
@friendly
def households(ctx: Context, as_json: bool, deleted: bool) -> None:
    """List the households on this device (* = local changes not yet synced).

    The first column is a short id: type it (or address words) wherever a household
    is asked for. `--json` gives the full ids.

    \b
    Example:
      gridsync field households --json
    """
    rows = ctx.enrolled().households(deleted=deleted)
    if as_json:
        _echo_json({"households": rows})
        return
    for row in rows:
        f = row["fields"]
        mark = "*" if row["pending"] else " "
        tags = ",".join(f.get("tags") or [])
        click.echo(f"{mark} {short_id(row['id'])}  {f.get('grid', '')}  {f.get('address') or ''}  "
                   f"{f.get('head_name') or ''}  {f.get('members', '')}  {tags}"
                   + ("  (deleted)" if row["deleted"] else ""))
    click.echo(f"{len(rows)} household(s)")


# --- visits and logs ------------------------------------------------------------------

@field.command()
@click.option("--household", "household_ref", required=True,
              help="Household visited: id, unique id prefix (4+ characters) or address words.")
@click.option("--outcome", required=True, type=click.Choice(["met", "not_home", "refused"]))
@click.option("--need", "needs", multiple=True, help="A need raised (repeat for several).")
@click.option("--hazard", "hazards", multiple=True, help="A hazard seen (repeat).")
@click.option("--note", "notes", help="Notes (up to 4000 characters).")
@click.option("--at", "visited_at", help="When: local time \"2026-12-06 09:00\" in the rules' "
              "time zone, or UTC \"2026-12-06T01:00:00Z\" (default: now).")
@click.option("--lat-e6", type=int, help="Latitude in micro-degrees.")
@click.option("--lon-e6", type=int, help="Longitude in micro-degrees.")
@pass_ctx
@friendly
def visit(ctx: Context, household_ref: str, outcome: str, needs: tuple[str, ...],
          hazards: tuple[str, ...], notes: str | None, visited_at: str | None,
          lat_e6: int | None, lon_e6: int | None) -> None:
    """Record a door-knock visit (written once).

    \b
    Example:
      gridsync field visit --household 3f9c2a --outcome met --at "2026-12-06 09:00" \\
          --need 送药 --hazard 飞线充电 --note "老人独居，需每周回访"
    """
    client = ctx.enrolled()
    household_id = find_household(client.households(), household_ref)
    if visited_at is not None:
        visited_at = parse_when(visited_at, timezone_of(client.rules()))
    _recorded(client, "visit", client.record_visit(
        household_id, outcome, visited_at=visited_at, needs=needs, hazards=hazards,
        notes=notes, lat_e6=lat_e6, lon_e6=lon_e6))


@field.command("log-hours")
@click.option("--volunteer", required=True, help="Volunteer person id.")
@click.option("--activity", required=True, help="Activity id from the earning rules.")
@click.option("--minutes", required=True, type=int, help="Minutes of service (1-720).")
@click.option("--started-at", help="When it started: local time \"2026-12-06 09:00\" in the "
              "rules' time zone, or UTC \"2026-12-06T01:00:00Z\" (default: now).")
@click.option("--note", "notes", help="Notes.")
@pass_ctx
@friendly
def log_hours(ctx: Context, volunteer: str, activity: str, minutes: int,
              started_at: str | None, notes: str | None) -> None:
    """Record a volunteer's service hours (status recorded; another worker verifies).

    \b
    Example:
      gridsync field log-hours --volunteer v1 --activity elderly_care --minutes 90 \\
          --started-at "2026-11-26 09:30"

    `gridsync field volunteers` and `gridsync field activities` list what may be named.
    """
    client = ctx.enrolled()
    rules = client.rules()
    check_log(client.people(), rules, volunteer, activity)
    if started_at is not None:
        started_at = parse_when(started_at, timezone_of(rules))
    _recorded(client, "service log", client.log_hours(volunteer, activity, minutes,
                                                      started_at=started_at, notes=notes))


@field.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--status", type=click.Choice(["recorded", "verified", "rejected"]))
@pass_ctx
@friendly
def logs(ctx: Context, as_json: bool, status: str | None) -> None:
    """List service logs on this device.

    \b
    Example:
      gridsync field logs --status recorded

    Newest first, with the start in local time (the rules' time zone) and UTC.
    """
    client = ctx.enrolled()
    rows = client.service_logs(status=status)
    if as_json:
        _echo_json({"service_logs": rows})
        return
    rules = client.rules()
    tz, names = timezone_of(rules), {key: name for key, name, _ in activities(rules)}
    rows.sort(key=lambda r: str(r["fields"].get("started_at") or ""), reverse=True)
    for row in rows:
        f = row["fields"]
        activity = names.get(f.get("activity"), f.get("activity"))
        click.echo(f"{'*' if row['pending'] else ' '} {row['id']}  "
                   f"{show_when(f.get('started_at'), tz)}  {f.get('volunteer')}  {activity}  "
                   f"{f.get('minutes')} min  {f.get('status') or 'recorded'}"
                   + (f"  note: {f['notes']}" if f.get("notes") else ""))
    click.echo(f"{len(rows)} log(s); times in {tz.key}")


@field.command()
@click.argument("log_id")
@pass_ctx
@friendly
def verify(ctx: Context, log_id: str) -> None:
    """Verify LOG_ID (four eyes: not your own log, nor one you recorded).

    \b
    Example:
      gridsync field verify 0193a1b2-...
    """
    client = ctx.enrolled()
    client.verify_log(log_id)
    click.echo(f"log {log_id} verified; {client.pending_count()} change(s) waiting to sync")


@field.command()
@click.argument("log_id")
@pass_ctx
@friendly
def reject(ctx: Context, log_id: str) -> None:
    """Reject LOG_ID (final: it earns nothing).

    \b
    Example:
      gridsync field reject 0193a1b2-...
    """
    client = ctx.enrolled()
    client.reject_log(log_id)
    click.echo(f"log {log_id} rejected; {client.pending_count()} change(s) waiting to sync")


# --- sync and status ----------------------------------------------------------------

@field.command("sync")
@click.option("--quiet", "-q", is_flag=True, help="Only the summary line.")
@pass_ctx
@friendly
def sync_command(ctx: Context, quiet: bool) -> None:
    """Send recorded changes and fetch what changed on the server.

    Prints a one-line summary; on long syncs, progress goes to stderr.

    \b
    Example:
      gridsync field sync
    """
    client = ctx.enrolled()
    started = time.monotonic()

    def progress(summary: SyncSummary, pending: int) -> None:
        if not quiet and (summary.pages > 1 or time.monotonic() - started > 2):
            click.echo(f"sync: page {summary.pages}, sent {summary.applied + summary.duplicate}"
                       f" + {summary.conflict} conflict + {summary.rejected} rejected, "
                       f"{pending} waiting, pulled {summary.pulled}", err=True)

    summary = client.sync(progress)
    try:
        client.rules(refresh=True)   # activities and time zone, for offline use
    except FieldClientError:
        pass                         # the sync itself went through; rules next time
    extra = [f"{name} {getattr(summary, name)}" for name in ("evicted", "restamped", "restarts")
             if getattr(summary, name)]
    click.echo(summary.line() + (", " + ", ".join(extra) if extra else ""))
    if summary.rejected:
        click.echo("some changes were rejected: see `gridsync field status`", err=True)


@field.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@friendly
def status(ctx: Context, as_json: bool) -> None:
    """Pending changes, rejected changes with reasons, last sync, cursor.

    \b
    Example:
      gridsync field status --json
    """
    client = ctx.enrolled()
    info = client.status()
    if as_json:
        _echo_json(info)
        return
    click.echo(f"device {info['device']} of {info['person']} ({info['role']}, grids "
               f"{', '.join(info['grids']) or '-'}) at {info['server']}")
    click.echo(f"pending: {info['pending']} change(s) waiting to sync")
    click.echo(f"rejected: {len(info['rejected'])}")
    for item in info["rejected"]:
        click.echo(f"  {item['op']}  {item['collection']} {item['id']}: {item['code']}: "
                   f"{item['message']}")
    last = info["last_sync"]
    if last:
        counts = SyncSummary(**{k: v for k, v in last.items() if k != "at"})
        click.echo(f"last sync: {last['at']} ({counts.line()})")
    else:
        click.echo("last sync: never")
    click.echo(f"cursor: {info['cursor'] or 'none (next sync pulls everything)'}")
    click.echo("records: " + ", ".join(f"{k} {v}" for k, v in info["records"].items()))


@field.command()
@click.argument("op")
@pass_ctx
@friendly
def dismiss(ctx: Context, op: str) -> None:
    """Remove a rejected change (by its OP id) from the list once dealt with.

    \b
    Example:
      gridsync field dismiss 0193a1b2-...
    """
    ctx.enrolled().dismiss_rejected(op)
    click.echo(f"dismissed {op}")


@field.command()
@click.argument("volunteer")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@friendly
def balance(ctx: Context, volunteer: str, as_json: bool) -> None:
    """A volunteer's points, every ledger entry's hash and signature checked.

    \b
    Example:
      gridsync field balance v1
    """
    out = ctx.enrolled().balance(volunteer)
    if as_json:
        _echo_json(out)
        return
    click.echo(f"{out['account']}: {out['balance']} points ({len(out['entries'])} verified "
               "entries)")


from . import cli_cases  # noqa: E402 (`gridsync field case`, in its own module)

field.add_command(cli_cases.case)  # type: ignore[has-type]

from . import cli_local  # noqa: E402 (what the phone knows: volunteers, activities, conflicts)

for _command in (cli_local.volunteers, cli_local.activities, cli_local.conflicts):  # type: ignore[has-type]
    field.add_command(_command)


def main() -> None:  # pragma: no cover - `python -m client_sdk.cli`
    field(prog_name="gridsync field")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())  # type: ignore[func-returns-value]

