"""`flask --app app worker`: run queued jobs from Redis (when REDIS_URL is set)."""

from __future__ import annotations

import click
from flask import Flask, current_app


def register_cli(app: Flask) -> None:
    @app.cli.command("worker")
    @click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
    def worker(burst: bool) -> None:
        """Run the jobs queued on Redis (imports, large exports)."""
        url = current_app.config.get("REDIS_URL")
        if not url:
            raise click.ClickException("REDIS_URL is not set: jobs run inside the app process.")
        from redis import Redis
        from rq import Queue, SimpleWorker

        connection = Redis.from_url(url)
        # SimpleWorker runs jobs in this process, inside the Flask app context.
        SimpleWorker([Queue("programme", connection=connection)], connection=connection).work(
            burst=burst
        )
