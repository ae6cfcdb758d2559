"""The deploy configs (deploy/nginx.conf, deploy/district/nginx.conf) run by Debian's
nginx, as written but for addresses, the certificate and file paths: nginx accepts
them, answers a down app host with the API's JSON 503, and a resident's receipt reaches
neither log. nginx's error log writes the request line of any request it logs an error
for; a health check to the same dead app host shows that it would.

``make test`` installs nginx-light when run as root; without nginx these tests skip,
saying why."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests
import urllib3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.helpers import free_port
from tests.server.test_access_log_receipts import NGINX_CONFS
from tests.server.test_ops_gunicorn import ROOT

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx")
                                  else None)
pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (make test "
                                "installs Debian's nginx-light when run as root)")
RECEIPT = "7K2Q-9ZXW-M4TA-0B1C-D2EF"


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "grid.example.org")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def runnable(conf: str, tmp: Path, *, https: int, http: int, upstream: int) -> Path:
    """``conf`` as a whole nginx.conf: the same http-level text with the app hosts at
    ``upstream``, the listeners on 127.0.0.1 and files under ``tmp``."""
    cert, key = self_signed(tmp)
    conf = re.sub(r"server [\d.]+:8000\b", f"server 127.0.0.1:{upstream}", conf)
    conf = re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", conf)
    conf = re.sub(r"listen 443 ssl http2;", f"listen 127.0.0.1:{https} ssl;", conf)
    conf = re.sub(r"listen 80;", f"listen 127.0.0.1:{http};", conf)
    conf = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", conf)
    conf = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", conf)
    conf = conf.replace("/var/log/nginx/", f"{tmp}/").replace("/var/www/html", str(tmp))
    temp = "\n".join(f"    {what}_temp_path {tmp}/{what};" for what in
                     ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    whole = tmp / "nginx.conf"
    whole.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"pid {tmp}/nginx.pid;\nerror_log {tmp}/main.error.log warn;\nworker_processes 1;\n"
        f"events {{ worker_connections 64; }}\nhttp {{\n{temp}\n{conf}\n}}\n")
    return whole


@pytest.fixture(params=NGINX_CONFS, ids=lambda p: str(p.relative_to(ROOT)))
def nginx(request, tmp_path):
    """nginx on a free port with the deploy config, its app hosts down (a closed port)."""
    https, http, dead = free_port(), free_port(), free_port()
    conf = runnable(request.param.read_text(), tmp_path, https=https, http=http,
                    upstream=dead)
    check = subprocess.run([NGINX, "-t", "-c", str(conf), "-p", str(tmp_path)],
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    stderr = tmp_path / "nginx.stderr"
    with stderr.open("wb") as out:
        proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp_path),
                                 "-g", "daemon off;"], stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", https), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, stderr.read_text()
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.05)
        yield {"url": f"https://127.0.0.1:{https}", "logs": tmp_path}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def get(url: str) -> requests.Response:
    with urllib3.warnings.catch_warnings():
        urllib3.warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        return requests.get(url, verify=False, timeout=20)


def test_a_receipt_reaches_no_log_when_the_app_host_is_down(nginx):
    for path in (f"/r/receipt/{RECEIPT}", f"/api/v1/public/reports/{RECEIPT}",
                 "/api/v1/health"):
        resp = get(nginx["url"] + path)
        assert resp.status_code == 503, (path, resp.status_code, resp.text)
        assert resp.json()["error"]["code"] == "unavailable"
        assert resp.headers["Retry-After"] == "5"
    time.sleep(0.2)                          # nginx writes its logs as it goes
    error_log = (nginx["logs"] / "gridsync.error.log").read_text()
    access_log = (nginx["logs"] / "gridsync.access.log").read_text()
    assert "/api/v1/health" in error_log     # the same failure elsewhere is logged,
    assert RECEIPT not in error_log          # with its request line: not a receipt's
    assert RECEIPT not in access_log
    assert '"path":"/r/receipt/[receipt]"' in access_log
    assert RECEIPT not in (nginx["logs"] / "main.error.log").read_text()
