"""Run the app under gunicorn from Python (``gridsync serve``)."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import Application, BaseApplication


class GridsyncGunicorn(BaseApplication):
    # Reading a config file (--config) is Application's, not BaseApplication's.
    get_config_from_filename = Application.get_config_from_filename
    get_config_from_module_name = Application.get_config_from_module_name
    load_config_from_module_name_or_filename = Application.load_config_from_module_name_or_filename
    load_config_from_file = Application.load_config_from_file

    def __init__(self, config: dict, *, bind: str, workers: int | None,
                 config_file: str | None = None):
        """Defaults, then the config file, then what the command line said
        (``bind`` always, ``workers`` when given)."""
        self.app_config = config
        self.defaults = {"workers": 2, "worker_class": "sync", "timeout": 120,
                         "graceful_timeout": 30,
                         # gunicorn's control socket lives at one shared path in
                         # ~/.gunicorn/ (servers would collide); gridsync does not use it.
                         "control_socket_disable": True}
        self.options = {"bind": bind, **({"workers": workers} if workers else {})}
        self.config_file = config_file
        from .metrics import prepare_multiprocess_dir

        prepare_multiprocess_dir(config["DATA_DIR"])  # GET /metrics sums every worker
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.defaults.items():
            self.cfg.set(key, value)
        if self.config_file:
            self.load_config_from_file(self.config_file)
        for key, value in self.options.items():
            self.cfg.set(key, value)
        self.cfg.set("child_exit", _child_exit_hook(self.cfg.child_exit))
        self.cfg.set("on_exit", _on_exit_hook(self.cfg.on_exit, self.app_config["DATA_DIR"]))

    def load(self) -> Any:
        from . import create_app

        return create_app(self.app_config)


def _child_exit_hook(configured: Any) -> Any:
    def child_exit(server: Any, worker: Any) -> None:
        from .metrics import worker_exited

        worker_exited(worker.pid)
        configured(server, worker)

    return child_exit


def _on_exit_hook(configured: Any, data_dir: str) -> Any:
    def on_exit(server: Any) -> None:
        configured(server)
        from .metrics import discard_multiprocess_dir

        discard_multiprocess_dir(data_dir)

    return on_exit
