"""`flask --app app seed-demo`: build (or complete) the demo programme, or the large
reference network (`--scale large`) the leadership reports are benchmarked on."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask_babel import force_locale

from programme.audit import acting_as
from programme.demo import DEMO_ACCOUNTS, database_is_empty, seed_demo
from programme.extensions import db


def print_accounts(password: str) -> None:
    click.echo(f"Demo accounts (password: {password}):")
    for account in DEMO_ACCOUNTS:
        click.echo(f"  {account.role:<14} {account.email}")


def register_cli(app: Flask) -> None:
    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Only seed a database that has no data yet.")
    @click.option(
        "--scale",
        type=click.Choice(["demo", "large", "xlarge"]),
        default="demo",
        show_default=True,
        help="demo: the demo programme (idempotent); large: the reference large network "
        "(2,000 sites, 3 years of daily KPIs, 10 waves) in an empty, migrated database; "
        "xlarge: five times that (10,000 sites, ≈ 54 M measurements, 50 waves; PostgreSQL only).",
    )
    @click.option("--sites", type=click.IntRange(12), default=None, help="Large scales: sites.")
    @click.option("--days", type=click.IntRange(28), default=None, help="Large scales: days.")
    @click.option("--waves", type=click.IntRange(1), default=None, help="Large scales: waves.")
    @click.option("--coaches", type=click.IntRange(1), default=None, help="Large scales: coaches.")
    def seed_demo_command(
        if_empty: bool,
        scale: str,
        sites: int | None,
        days: int | None,
        waves: int | None,
        coaches: int | None,
    ) -> None:
        """Build the demo network and one account per role (idempotent)."""
        password = current_app.config["DEMO_PASSWORD"]
        if scale in ("large", "xlarge"):
            given = {"sites": sites, "days": days, "waves": waves, "coaches": coaches}
            _seed_large(password, scale, {k: v for k, v in given.items() if v})
            return
        if if_empty and not database_is_empty(db.session):
            click.echo("The database already has data; demo not seeded.")
            return
        with force_locale("en"), acting_as("cli:seed-demo"):
            report = seed_demo(db.session, password)
            db.session.commit()
        sites_ = report["sites"]
        click.echo(
            f"Sites: {sites_['created']} created, {sites_['updated']} updated, "
            f"{sites_['unchanged']} unchanged; accounts created: {report['accounts']['created']}."
        )

    def _seed_large(password: str, scale: str, given: dict) -> None:
        from programme.demo import large

        options = {**large.SCALES[scale], **given}
        try:
            large.refuse_unsupported_database(db.session, scale)
            with force_locale("en"), acting_as(f"cli:seed-demo --scale {scale}"):
                report = large.seed_large(db.session, password, echo=click.echo, **options)
        except large.LargeSeedRefused as refused:
            raise click.ClickException(str(refused)) from None
        click.echo(
            f"Large network built in {report['seconds']} s: {report['sites']} sites, "
            f"{report['measurements']:,} measurements, {report['rollups']:,} weekly rollups, "
            f"{report['waves']} waves, {report['coaches']} coaches, {report['visits']:,} visits."
        )
        print_accounts(password)

    @app.cli.command("demo-accounts")
    def demo_accounts() -> None:
        """Print the demo accounts."""
        print_accounts(current_app.config["DEMO_PASSWORD"])
