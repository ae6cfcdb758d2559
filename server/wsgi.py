"""gunicorn target: ``gunicorn 'server.wsgi:app'`` (reads GRIDSYNC_* from the environment)."""

from . import create_app

app = create_app()
