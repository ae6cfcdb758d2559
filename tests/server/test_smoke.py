def test_world_builds(world, api):
    grids = api.ok(api.get("/grids"))["grids"]
    assert {g["id"] for g in grids} == {"c1", "g1", "g1a", "g2"}


def test_settings_are_typed_and_read_once(tmp_path, monkeypatch):
    """Environment values are cast once (a bad one is a clear error); the app's
    settings object and the app.config mirror agree."""
    import pytest

    from server import create_app
    from server.config import SettingsError, load_settings

    monkeypatch.delenv("GRIDSYNC_DATABASE_URL", raising=False)  # the default: the data dir's file
    monkeypatch.setenv("GRIDSYNC_WEB_COOKIE_SECURE", "false")
    monkeypatch.setenv("GRIDSYNC_PULL_MAX_BYTES", "12345")
    app = create_app({"DATA_DIR": str(tmp_path), "TESTING": True})
    cfg = app.extensions["gridsync.settings"]
    assert cfg.web_cookie_secure is False and cfg.pull_max_bytes == 12345
    assert app.config["PULL_MAX_BYTES"] == 12345 and app.config["TESTING"] is True
    assert cfg.database == str(tmp_path / "gridsync.db")
    monkeypatch.setenv("GRIDSYNC_PULL_MAX_BYTES", "lots")
    with pytest.raises(SettingsError, match="PULL_MAX_BYTES"):
        load_settings({"DATA_DIR": str(tmp_path)})


def test_commands_open_the_database_the_app_opens(tmp_path, monkeypatch):
    """A DATABASE_URL in the data dir's config.py is where `gridsync serve` writes, so
    `gridsync token`, `ledger verify`... open it too, not the data dir's file; the option
    and the environment come first, as for the app."""
    from server.config import database_target, load_settings

    monkeypatch.delenv("GRIDSYNC_DATABASE_URL", raising=False)
    assert database_target(str(tmp_path)) == str(tmp_path / "gridsync.db")
    tmp_path.joinpath("config.py").write_text('DATABASE_URL = "postgresql://db1/district"\n')
    assert load_settings({"DATA_DIR": str(tmp_path)})[0].database == "postgresql://db1/district"
    assert database_target(str(tmp_path)) == "postgresql://db1/district"
    monkeypatch.setenv("GRIDSYNC_DATABASE_URL", "postgresql://db2/district")
    assert database_target(str(tmp_path)) == "postgresql://db2/district"
    assert database_target(str(tmp_path), "postgresql://db3/x") == "postgresql://db3/x"
