"""What 我的积分 (/me) shows a volunteer: balance, hours, their service logs in plain
words, their points history with what each redemption bought, and the months.

Everything is the signed-in volunteer's own; names come from the earning rules
(an activity's ``name``), and a log whose points the daily cap cut says so with
the sums, priced by the rules that priced it (the earn entry names their hash).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ledger import LedgerError, points_for
from primitives import names

from .. import clock
from ..storage import Storage
from . import ledger as points
from .community_time import zone_of

STATUSES = ("recorded", "verified", "rejected")
MONTHS = 12


def overview(store: Storage, volunteer: str) -> dict:
    """Balance, hours by status, logs (newest first), entries (newest first, each with
    the balance after it, and the items of a redemption or the reason of a refund),
    and hours and points for each of the last twelve months."""
    account = names.volunteer(volunteer)
    with store.snapshot():
        balance = store.ledger.balance(account)
        entries = store.ledger.account_entries(account)
        logs = store.web.service_logs_of(volunteer)
        totals = store.web.service_hours_of(volunteer)
        current = store.directory.rules()
        priced_by = _rules_of_earns(store, entries)
        bought = {r["entry_seq"]: r for r in store.ledger.redemptions_between(
            volunteer=volunteer, limit=10_000)}
        refunds = {r["entry_seq"]: points.refund_reason(store, r["id"])
                   for r in bought.values() if r["reversed_by"] is not None}
        shops = {sid: (store.directory.shop(sid) or {}).get("name", sid)
                 for sid in {r["shop"] for r in bought.values()}}
    for r in bought.values():
        r["shop_name"] = shops[r["shop"]]
    rules = current[0] if current else {}
    timezone = zone_of(rules)
    hours = {s: totals.get(s, {"count": 0, "minutes": 0}) for s in STATUSES}
    earned_by_log = {e["ref"].removeprefix("service_log:"): e for e in entries
                     if e["kind"] == "earn"}
    rows = [_log_row(log, rules, earned_by_log, priced_by) for log in logs]
    rows.sort(key=lambda r: (r["started_at"] or "", r["id"]), reverse=True)
    running, shown = 0, []
    for e in entries:
        delta = e["amount"] if e["credit"] == account else -e["amount"]
        running += delta
        row = {**e, "delta": delta, "balance_after": running}
        if e["kind"] == "redeem" and (r := bought.get(e["seq"])):  # type: ignore[assignment]
            row["redemption"] = r
        if e["kind"] == "reverse" and e["ref"].startswith("entry:"):
            seq = int(e["ref"].removeprefix("entry:") or 0)
            if seq in bought:
                row["refund_of"] = bought[seq]
                row["refund"] = refunds.get(seq)
        shown.append(row)
    shown.reverse()
    return {"balance": balance, "hours": hours, "logs": rows, "entries": shown,
            "months": months(logs, entries, account, timezone),
            "daily_cap": rules.get("daily_cap")}


def _rules_of_earns(store: Storage, entries: list[dict]) -> dict[str, dict]:
    """rules hash -> rules body, for the hashes the earn entries name."""
    out = {}
    for digest in {e.get("rules") for e in entries if e["kind"] == "earn" and e.get("rules")}:
        body = store.directory.rules_by_hash(digest)  # type: ignore[arg-type]
        if body is not None:
            out[digest] = body
    return out  # type: ignore[return-value]


def activity_name(rules: dict, key: str | None) -> str:
    """The name people read for an activity key (the key itself if the rules have none)."""
    found = (rules.get("activities") or {}).get(key or "")
    return str(found.get("name") or key) if isinstance(found, dict) else str(key or "")


def _log_row(log: dict, current: dict, earned_by_log: dict[str, dict],
             priced_by: dict[str, dict]) -> dict:
    fields = log["fields"]
    row = {"id": log["id"], "status": fields.get("status", "recorded"), **{
        k: fields.get(k) for k in ("activity", "started_at", "minutes", "points", "notes")}}
    earn = earned_by_log.get(log["id"])
    rules = priced_by.get(earn.get("rules") or "", current) if earn else current
    row["activity_name"] = activity_name(current, row["activity"])  # today's name reads best
    activity = (rules.get("activities") or {}).get(row["activity"] or "")
    row["capped"] = None
    if (row["status"] == "verified" and isinstance(activity, dict)
            and isinstance(row["minutes"], int) and isinstance(row["points"], int)):
        try:
            full = points_for(row["minutes"], int(activity.get("points_per_hour", 0)))
        except LedgerError:
            full = row["points"]
        if full > row["points"]:
            row["capped"] = {"full": full, "awarded": row["points"],
                             "per_hour": activity.get("points_per_hour"),
                             "cap": rules.get("daily_cap")}
    return row


def months(logs: list[dict], entries: list[dict], account: str, timezone: str) -> list[dict]:
    """``[{"month": "YYYY-MM", "minutes", "points"}]`` for the last twelve months
    (oldest first): minutes of verified service started in the month (local time)
    and points earned (earn entries) in it."""
    tz = ZoneInfo(timezone)
    now = datetime.now(tz)
    keys = []
    year, month = now.year, now.month
    for _ in range(MONTHS):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    keys.reverse()
    minutes: dict[str, int] = defaultdict(int)
    earned: dict[str, int] = defaultdict(int)
    for log in logs:
        fields = log["fields"]
        if fields.get("status") == "verified" and isinstance(fields.get("minutes"), int):
            if key := _month(fields.get("started_at"), tz):
                minutes[key] += fields["minutes"]
    for e in entries:
        if e["kind"] == "earn" and e["credit"] == account and (key := _month(e["at"], tz)):
            earned[key] += e["amount"]
    return [{"month": k, "minutes": minutes[k], "points": earned[k]} for k in keys]


def _month(stamp: object, tz: ZoneInfo) -> str | None:
    if not isinstance(stamp, str):
        return None
    try:
        moment = datetime.fromtimestamp(clock.parse_iso(stamp) / 1000, tz=UTC)
    except ValueError:
        return None
    return moment.astimezone(tz).strftime("%Y-%m")
