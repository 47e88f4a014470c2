"""`flask --app app rebuild-rollups`, `ensure-kpis`, `purge-uploads`."""

from __future__ import annotations

import click
from flask import Flask

from programme.audit import acting_as, record_event
from programme.extensions import db


def register_cli(app: Flask) -> None:
    @app.cli.command("rebuild-rollups")
    def rebuild_rollups_command() -> None:
        """Recompute the weekly KPI rollups from the measurements."""
        from programme.kpis.services import rebuild_rollups

        with acting_as("cli:rebuild-rollups"):
            count = rebuild_rollups(db.session)
            record_event(db.session, "kpi_rollup_week", "rebuild", f"{count} rollup rows rebuilt")
            db.session.commit()
        click.echo(f"Rebuilt {count} weekly rollup rows.")

    @app.cli.command("purge-uploads")
    @click.option("--days", type=int, default=None, help="Default: UPLOAD_RETENTION_DAYS (30).")
    def purge_uploads_command(days: int | None) -> None:
        """Delete the files of imports that ended more than UPLOAD_RETENTION_DAYS ago."""
        from flask import current_app

        from programme.kpis.services import purge_uploads

        days = days if days is not None else current_app.config.get("UPLOAD_RETENTION_DAYS", 30)
        with acting_as("cli:purge-uploads"):
            count = purge_uploads(db.session, days)
            db.session.commit()
        click.echo(f"Deleted {count} upload file(s) whose import ended more than {days} days ago.")

    @app.cli.command("ensure-kpis")
    def ensure_kpis_command() -> None:
        """Add the default KPIs that are missing (never changes existing ones)."""
        from programme.kpis.services import ensure_default_kpis

        with acting_as("cli:ensure-kpis"):
            created = ensure_default_kpis(db.session)
            db.session.commit()
        click.echo(f"{created} default KPI(s) added.")
