"""What gridsync serves at /field/: the shell, the manifest, the service worker with
its scope and the list of every shell file, strict headers, nothing from elsewhere."""

from __future__ import annotations

import json
import re

from server.field import STATIC, shell_files

LIMIT_SHELL_BYTES = 150 * 1024


def get(client, url):
    """GET, body read and the response closed (send_file answers hold the file open)."""
    resp = client.get(url)
    resp.get_data()
    resp.close()
    return resp


def test_index_manifest_and_redirect(client):
    resp = get(client, "/field")
    assert resp.status_code == 301 and resp.headers["Location"].endswith("/field/")
    page = get(client, "/field/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert '<script type="module" src="/field/static/js/app.js">' in html
    assert '<link rel="manifest" href="/field/manifest.webmanifest">' in html
    manifest = get(client, "/field/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    data = json.loads(manifest.get_data(as_text=True))
    assert data["scope"] == "/field/" and data["display"] == "standalone"
    assert {i["sizes"] for i in data["icons"]} == {"192x192", "512x512"}
    for icon in data["icons"]:
        assert get(client, icon["src"]).status_code == 200


def test_service_worker_scope_headers_and_shell_list(client):
    resp = get(client, "/field/sw.js")
    assert resp.status_code == 200 and resp.mimetype == "text/javascript"
    assert resp.headers["Service-Worker-Allowed"] == "/field/"
    assert resp.headers["Cache-Control"] == "no-cache"
    head = resp.get_data(as_text=True).splitlines()[0]
    shell = json.loads(re.fullmatch(r"const SHELL = (.*);", head)[1])
    assert re.fullmatch(r"[0-9a-f]{16}", shell["version"])
    # every file the app loads is cached, and each is really served
    assert set(shell["files"]) == ({"/field/", "/field/manifest.webmanifest"}
                                   | {f"/field/static/{name}" for name in shell_files()})
    for url in shell["files"]:
        assert get(client, url).status_code == 200, url
    assert "/field/static/vendor/noble-ed25519/index.js" in shell["files"]


def test_strict_headers_on_every_field_answer(client):
    for url in ("/field/", "/field/static/js/app.js", "/field/sw.js"):
        resp = get(client, url)
        csp = resp.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["X-Frame-Options"] == "DENY"


def test_nothing_is_fetched_from_another_origin():
    for path in STATIC.rglob("*"):
        if path.suffix in (".js", ".html", ".css", ".webmanifest") and "vendor" not in path.parts:
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"(src|href)=\"(https?:)?//", text), path
            assert "fetch(\"http" not in text and "@import" not in text, path


def test_vendored_library_keeps_its_licence_and_version():
    vendor = STATIC / "vendor" / "noble-ed25519"
    assert "MIT License" in (vendor / "LICENSE").read_text()
    assert (vendor / "VERSION").read_text().startswith("2.3.0 ")


def test_app_shell_is_under_its_size_budget():
    total = sum((STATIC / name).stat().st_size for name in shell_files())
    total += sum((STATIC / name).stat().st_size for name in ("index.html", "sw.js",
                                                                "manifest.webmanifest"))
    assert total <= LIMIT_SHELL_BYTES, total
    assert not [n for n in shell_files() if n.endswith((".woff", ".woff2", ".ttf", ".otf"))]
