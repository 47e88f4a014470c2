"""`flask --app app take-snapshot [--month YYYY-MM]`: this month's snapshot of the headline
figures for the network and every region (run by cron on the 1st; idempotent)."""

from __future__ import annotations

from datetime import date

import click
from flask import Flask
from flask_babel import force_locale

from programme.audit import acting_as, record_event
from programme.extensions import db


def register_cli(app: Flask) -> None:
    @app.cli.command("take-snapshot")
    @click.option(
        "--month",
        default=None,
        metavar="YYYY-MM",
        help="The month to take; only the current month is accepted (figures are today's).",
    )
    def take_snapshot_command(month: str | None) -> None:
        """Take this month's snapshot of the headline figures (network and every region).

        A month that already has its snapshot keeps it: running the command twice changes
        nothing."""
        from programme.reports.snapshots import SnapshotError, parse_month, take_all

        today = date.today()
        with force_locale("en"):
            try:
                parse_month(month, today)
            except SnapshotError as error:
                raise click.ClickException(str(error)) from error
        with force_locale("en"), acting_as("cli:take-snapshot"):
            taken = take_all(db.session, today)
            created = [t for t in taken if t.created]
            if created:
                record_event(
                    db.session,
                    "snapshot",
                    "take",
                    f"{len(created)} snapshot(s) of {today:%Y-%m} taken",
                )
            db.session.commit()
        for item in taken:
            state = "taken" if item.created else "already taken, kept"
            click.echo(f"{item.snapshot.month:%Y-%m} {item.scope_label}: {state}")
        click.echo(f"{len(created)} snapshot(s) taken, {len(taken) - len(created)} already there.")
