"""`flask --app app worker`: run queued jobs from Redis (when REDIS_URL is set).

The worker also keeps jobs from getting stuck and old files from piling up: when it starts
and then about every minute (RQ's maintenance loop) it marks failed the running jobs whose
worker died (no heartbeat for JOB_HEARTBEAT_TIMEOUT seconds) and the queued jobs whose
entry on the queue is gone (Redis restarted or emptied), and once a day (one worker,
through a Redis lock that expires after 24 hours) it runs the daily tasks:
`flask purge-uploads`."""

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

        from programme.jobs import services

        flask_app = current_app._get_current_object()

        class Worker(SimpleWorker):
            """SimpleWorker runs jobs in this process, inside the Flask app context."""

            def run_maintenance_tasks(self):
                super().run_maintenance_tasks()
                services.recover_stale()
                services.recover_lost()
                services.run_daily_tasks(flask_app)

        services.recover_stale()  # jobs left running by a worker that died
        services.recover_lost()  # jobs queued whose queue entry is gone (Redis emptied)
        connection = Redis.from_url(url)
        # worker_ttl 60: the blocking dequeue wakes up every 45 s, so the maintenance loop
        # (every maintenance_interval seconds) really runs about once a minute.
        Worker(
            [Queue("programme", connection=connection)],
            connection=connection,
            worker_ttl=60,
            maintenance_interval=60,
        ).work(burst=burst)
