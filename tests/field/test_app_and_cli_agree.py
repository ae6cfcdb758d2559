"""One scenario recorded through the field app and through `gridsync field` (the
reference client's command line): the server ends up with the same data from each.

Both phones are w1b's, so everything but ids, stamps and times of day "now" must be
equal: the household, its visit (needs, hazards, notes), the service log (its
started_at from the app's local date and time, 10:00 in Shanghai = 02:00 UTC)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from server.cli import main
from tests.field.conftest import device_of
from tests.field.phone_support import add_household, enrol, log_hours, record_visit, sync

ADDRESS, HEAD, MEMBERS, TAG = "友谊路 6 号 2 单元 501", "周大妈", 2, "独居老人"
NEEDS, HAZARDS, NOTE = ["助餐"], ["楼道堆物"], "楼道里堆了纸箱"
LOG_NOTE = "打扫楼道"


def cli(directory, *args: str) -> str:
    """`gridsync field --dir DIR ARGS...`, run in this process (the same click command)."""
    out = CliRunner().invoke(main, ["field", "--dir", str(directory), *args])
    assert out.exit_code == 0, out.output
    return out.stdout


def normalised(records: list[dict]) -> dict:
    """The scenario's records without ids, stamps, versions and "now" times."""
    households = [r for r in records if r["collection"] == "households"]
    assert len(households) == 1
    visits = [r for r in records if r["collection"] == "visits"]
    logs = [r for r in records if r["collection"] == "service_logs"]
    assert len(visits) == 1 and len(logs) == 1
    visit = dict(visits[0]["fields"])
    assert visit.pop("household") == households[0]["id"]
    assert visit.pop("visited_at").endswith("Z")
    return {"household": households[0]["fields"], "visit": visit, "log": logs[0]["fields"],
            "deleted": [r["deleted"] for r in records]}


def test_the_app_and_the_cli_record_the_same_server_data(field_server, new_phone, admin,
                                                         tmp_path):
    page = enrol(new_phone(), field_server.app_url, field_server.code("w1b"))
    hh = add_household(page, address=ADDRESS, head=HEAD, members=MEMBERS, tags=TAG)
    record_visit(page, hh, "met", needs=NEEDS, hazards=HAZARDS, notes=NOTE)
    log_hours(page, "v1", "cleanup", "2026-12-04", "10:00", 45, notes=LOG_NOTE)
    assert sync(page)["applied"] == 3
    app_device = page.evaluate("() => window.fieldApp.app.device.device_id")

    phone = tmp_path / "phone"
    cli(phone, "enroll", field_server.url, field_server.code("w1b"), "--name", "cli")
    cli(phone, "household", "add", "--grid", "g1", "--address", ADDRESS, "--head-name", HEAD,
        "--members", str(MEMBERS), "--tag", TAG)
    cli_hh = json.loads(cli(phone, "households", "--json"))["households"]
    cli_hh = [h for h in cli_hh if h["version"] == 0][0]["id"]
    cli(phone, "visit", "--household", cli_hh, "--outcome", "met", "--need", NEEDS[0],
        "--hazard", HAZARDS[0], "--note", NOTE)
    cli(phone, "log-hours", "--volunteer", "v1", "--activity", "cleanup", "--minutes", "45",
        "--started-at", "2026-12-04T02:00:00.000Z", "--note", LOG_NOTE)
    cli(phone, "sync")
    cli_device = json.loads(cli(phone, "status", "--json"))["device"]

    everything = admin.enroll("w9").pull_all(fresh=True).values()
    by_app = [r for r in everything if device_of(r) == app_device]
    by_cli = [r for r in everything if device_of(r) == cli_device]
    assert normalised(by_app) == normalised(by_cli)
    log = normalised(by_app)["log"]
    assert log == {"volunteer": "v1", "activity": "cleanup", "minutes": 45, "notes": LOG_NOTE,
                   "started_at": "2026-12-04T02:00:00.000Z", "status": "recorded",
                   "recorded_by": "w1b"}, log
