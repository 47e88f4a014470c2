"""Test data for deployment: a package with elements, waves, coaches, on fixed dates."""

from __future__ import annotations

import itertools
from datetime import date

from programme.deployment import services
from programme.deployment.models import Coach
from programme.extensions import db
from programme.network.models import Person
from programme.pilots.models import Package, PackageElement
from tests.factories import make_region, make_site, make_user

_counter = itertools.count(1)

START = date(2026, 3, 2)  # a Monday
GO_LIVE = date(2026, 4, 27)


def make_package(n_elements: int = 4, name: str | None = None) -> Package:
    package = Package(name=name or f"Package {next(_counter)}")
    kinds = ("process", "tool", "indicator", "routine")
    for i in range(n_elements):
        package.elements.append(
            PackageElement(
                kind=kinds[i % 4],
                title=f"Élément {i + 1}",
                description="…",
                deployment_step="go_live",
            )
        )
    db.session.add(package)
    db.session.commit()
    return package


def make_sites(n: int, region=None, prefix: str = "W") -> list:
    region = region or make_region()
    return [make_site(f"{prefix}-{next(_counter):04d}", region=region) for _ in range(n)]


def make_wave(package, sites, start=START, go_live=GO_LIVE, status="deploying", name=None):
    wave = services.save_wave(
        db.session,
        services.WavePlan(
            name=name or f"Vague {next(_counter)}",
            package_id=package.id,
            start=start,
            go_live=go_live,
            site_codes=[s.code for s in sites],
            status=status,
        ),
    )
    db.session.commit()
    return wave


def make_coach(
    user=None,
    capacity: int = 4,
    secondment_start: date = date(2026, 1, 1),
    secondment_end: date | None = date(2026, 12, 31),
    name: str | None = None,
) -> Coach:
    number = next(_counter)
    person = Person(full_name=name or f"Coach {number}")
    if user is None:
        user = make_user("coach", name=person.full_name)
    coach = Coach(
        person=person,
        user_id=user.id,
        secondment_start=secondment_start,
        secondment_end=secondment_end,
        capacity=capacity,
    )
    db.session.add(coach)
    db.session.commit()
    return coach


def assign(wave, site, coach, start=START, end=GO_LIVE):
    row = services.assign_coach(db.session, wave, site.id, coach, start, end)
    db.session.commit()
    return row
