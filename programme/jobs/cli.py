"""`flask --app app worker`: run queued jobs from Redis (when REDIS_URL is set).

The worker also keeps jobs from getting stuck and runs the periodic commands:
- when it starts and then about every minute (RQ's maintenance loop) it marks failed the
  running jobs whose worker died (no heartbeat for JOB_HEARTBEAT_TIMEOUT seconds) and the
  queued jobs whose entry on the queue is gone (Redis restarted or emptied);
- unless `--burst`, it starts the schedule (`programme.jobs.schedule`, RQ's cron
  scheduler in a thread): `flask send-digests` every 15 minutes, `flask purge-uploads`,
  `flask purge-contact-references` and `flask take-snapshot` daily, each due time queued
  once across all workers and run by whichever worker is free."""

from __future__ import annotations

import click
from flask import Flask, current_app


def register_cli(app: Flask) -> None:
    @app.cli.command("worker")
    @click.option("--burst", is_flag=True, help="Stop when the queue is empty (no schedule).")
    def worker(burst: bool) -> None:
        """Run the jobs queued on Redis (imports, large exports) and the schedule."""
        url = current_app.config.get("REDIS_URL")
        if not url:
            raise click.ClickException("REDIS_URL is not set: jobs run inside the app process.")
        from redis import Redis
        from rq import Queue, SimpleWorker

        from programme.jobs import schedule, services

        class Worker(SimpleWorker):
            """SimpleWorker runs jobs in this process, inside the Flask app context."""

            def run_maintenance_tasks(self):
                super().run_maintenance_tasks()
                services.recover_stale()
                services.recover_lost()

        services.recover_stale()  # jobs left running by a worker that died
        services.recover_lost()  # jobs queued whose queue entry is gone (Redis emptied)
        connection = Redis.from_url(url)
        stop = None
        if not burst:
            _scheduler, stop = schedule.start_scheduler(connection)
        try:
            # worker_ttl 60: the blocking dequeue wakes up every 45 s, so the maintenance
            # loop (every maintenance_interval seconds) really runs about once a minute.
            Worker(
                [
                    Queue(schedule.QUEUE, connection=connection),
                    Queue(schedule.REFRESH_QUEUE, connection=connection),
                ],
                connection=connection,
                worker_ttl=60,
                maintenance_interval=60,
            ).work(burst=burst)
        finally:
            if stop is not None:
                stop.set()
