"""`flask --app app send-digests`: send the e-mail digests due now (run every 15 minutes)."""

from __future__ import annotations

import click
from flask import Flask, current_app

from programme.extensions import db


def register_cli(app: Flask) -> None:
    @app.cli.command("send-digests")
    def send_digests_command() -> None:
        """Send the e-mail digests that are due (every 15 minutes, from cron or the
        scheduler): SMTP failures are logged and retried at the next run."""
        from programme.home.digests import mail_configured, send_digests

        if not mail_configured(current_app):
            click.echo("MAIL_SERVER is not set: no digest sent.")
            return
        report = send_digests(db.session, current_app._get_current_object())
        click.echo(
            f"Digests due: {report.due}, sent: {report.sent}, empty (not sent): {report.empty}, "
            f"failed (retried at the next run): {report.failed}."
        )
        for error in report.errors:
            click.echo(f"  not sent: {error}", err=True)
