"""A resident's receipt closes their case, so it must never reach a log: gunicorn's own
access log, turned on, under a real `gridsync serve` (with and without the deploy
config) and under `gunicorn -c` with an operator's own format, writes [receipt] instead;
every value is escaped, so a path cannot break a JSON line or forge another. The
reverse proxy's log format (deploy/nginx.conf, deploy/district/nginx.conf) cuts the
receipt out with a map, checked here against the same paths."""

from __future__ import annotations

import json
import re
import signal
import sys
from pathlib import Path

import pytest
import requests

from tests.cases.cases_support import case_rules, new_report, report_code
from tests.helpers import gridsync_command
from tests.server.test_ops_gunicorn import CONF, ROOT, STOP_WAIT, running

SERVERS = {
    "gridsync serve": [*gridsync_command(), "serve", "--port", "{port}", "--workers", "1"],
    "gridsync serve --config": [*gridsync_command(), "serve", "--port", "{port}",
                                "--workers", "1", "--config", str(CONF)],
    "gunicorn -c, the operator's format": [
        str(Path(sys.executable).with_name("gunicorn")), "-c", str(CONF),
        "--bind", "127.0.0.1:{port}", "--workers", "1",
        "--access-logformat", '%(h)s "%(r)s" %(s)s "%(f)s" %({raw_uri}e)s'],
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("server", sorted(SERVERS))
def test_receipts_never_reach_gunicorns_access_log(api, world, data_dir, tmp_path,
                                                  monkeypatch, server):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    case_rules(api)
    _case, receipt = new_report(api, report_code(api))
    compact = receipt.replace("-", "")
    log = tmp_path / "access.log"
    env = {"GRIDSYNC_DATA_DIR": str(data_dir), "GRIDSYNC_ACCESS_LOG": str(log)}
    with running(SERVERS[server], env, tmp_path) as (proc, url, _err):
        for path in (f"/r/receipt/{receipt}", f"/r/receipt/{compact.lower()}?from=mail",
                     f"/api/v1/public/reports/{receipt}",
                     f"/api/v1/public/reports/{receipt}/rating"):
            assert requests.get(url + path, timeout=10,
                                headers={"Referer": url + path}).status_code in (200, 405)
        assert requests.get(url + '/r/receipt/x%22%7D%0A%7B%22forged', timeout=10).ok is False
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(STOP_WAIT) == 0
    text = log.read_text()
    lines = text.splitlines()
    assert len(lines) >= 6, text          # /health polls, then our five requests
    for secret in (receipt, compact, compact.lower()):
        assert secret not in text
    assert text.count("[receipt]") >= 5 and "from=mail" not in text
    if "operator" not in server:
        entries = [json.loads(line) for line in lines]   # every line is one JSON object
        paths = [e["path"] for e in entries if "receipt" in e["path"]]
        assert paths[:4] == ["/r/receipt/[receipt]"] * 2 + [
            "/api/v1/public/reports/[receipt]", "/api/v1/public/reports/[receipt]/rating"]
        assert not any("forged" in e for e in entries)


NGINX_CONFS = [ROOT / "deploy" / "nginx.conf", ROOT / "deploy" / "district" / "nginx.conf"]
MAP = re.compile(r"map \$uri \$gridsync_log_path \{(.*?)\n\}", re.S)


def nginx_log_path(conf: str, uri: str) -> str:
    """What nginx's ``map $uri $gridsync_log_path`` gives for ``uri``: its regex lines
    (PCRE named groups, read by Python's re) in order, else the default."""
    body = MAP.search(conf).group(1)
    for pattern, value in re.findall(r'"~(.+?)"\s+"(.+?)";', body):
        found = re.match(pattern.replace("(?<", "(?P<"), uri)
        if found:
            groups = {k: v or "" for k, v in found.groupdict().items()}
            return re.sub(r"\$\{(\w+)\}", lambda m, g=groups: g[m.group(1)], value)
    assert re.search(r"default\s+\$uri;", body)
    return uri


@pytest.mark.parametrize("path", NGINX_CONFS, ids=lambda p: str(p.relative_to(ROOT)))
def test_nginx_logs_the_path_with_the_receipt_cut_out(path):
    conf = path.read_text()
    fmt = conf.split("log_format gridsync_json", 1)[1].split(";", 1)[0]
    assert '"path":"$gridsync_log_path"' in fmt
    assert not re.search(r"\$(uri|request_uri|request|args|query_string|http_referer)\b", fmt)
    receipt = "7K2Q-9ZXW-M4TA-0B1C-D2EF"
    for uri, logged in ((f"/r/receipt/{receipt}", "/r/receipt/[receipt]"),
                        (f"/r/receipt/{receipt}/rating", "/r/receipt/[receipt]/rating"),
                        (f"/api/v1/public/reports/{receipt}",
                         "/api/v1/public/reports/[receipt]"),
                        (f"/api/v1/public/reports/{receipt}/rating",
                         "/api/v1/public/reports/[receipt]/rating"),
                        ("/api/v1/public/reports", "/api/v1/public/reports"),
                        ("/r/ABCDEFGH2345", "/r/ABCDEFGH2345"),
                        ("/api/v1/sync", "/api/v1/sync")):
        assert nginx_log_path(conf, uri) == logged
