"""Entry point: `flask --app app ...` and `gunicorn app:app`."""

from programme import create_app

app = create_app()
