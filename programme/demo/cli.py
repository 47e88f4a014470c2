"""`flask --app app seed-demo`: build (or complete) the demo programme."""

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
    def seed_demo_command(if_empty: bool) -> None:
        """Build the demo network and one account per role (idempotent)."""
        password = current_app.config["DEMO_PASSWORD"]
        if if_empty and not database_is_empty(db.session):
            click.echo("The database already has data; demo not seeded.")
            return
        with force_locale("en"), acting_as("cli:seed-demo"):
            report = seed_demo(db.session, password)
            db.session.commit()
        sites = report["sites"]
        click.echo(
            f"Sites: {sites['created']} created, {sites['updated']} updated, "
            f"{sites['unchanged']} unchanged; accounts created: {report['accounts']['created']}."
        )

    @app.cli.command("demo-accounts")
    def demo_accounts() -> None:
        """Print the demo accounts."""
        print_accounts(current_app.config["DEMO_PASSWORD"])
