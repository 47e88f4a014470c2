"""`flask --app app purge-contact-references`: delete the customers' contact references
FEEDBACK_CONTACT_RETENTION_DAYS (90 by default) after their case closed (run daily by the job worker's schedule)."""

from __future__ import annotations

import click
from flask import Flask, current_app

from programme.audit import acting_as
from programme.extensions import db


def register_cli(app: Flask) -> None:
    @app.cli.command("purge-contact-references")
    @click.option("--days", type=click.IntRange(min=1), default=None, help="Override the setting.")
    def purge_contact_references_command(days: int | None) -> None:
        """Delete contact references kept longer than the retention period (comments stay)."""
        from programme.feedback.services import (
            DEFAULT_CONTACT_RETENTION_DAYS,
            purge_contact_references,
        )

        days = days or int(
            current_app.config.get("FEEDBACK_CONTACT_RETENTION_DAYS")
            or DEFAULT_CONTACT_RETENTION_DAYS
        )
        with acting_as("cli:purge-contact-references"):
            purged = purge_contact_references(db.session, days)
            db.session.commit()
        noun = "reference" if purged == 1 else "references"
        click.echo(f"{purged} contact {noun} deleted (retention: {days} days).")
