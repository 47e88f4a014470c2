"""The rules of the network: validating and saving sites, importing them in bulk."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from programme.audit import record_event
from programme.errors import FieldError, Invalid
from programme.network.models import CHANNELS, SITE_TYPES, Person, Region, Site

SITE_FIELDS = (
    "code",
    "name",
    "type",
    "region",
    "country",
    "city",
    "time_zone",
    "operator",
    "provider",
    "channels",
    "manager_name",
    "manager_email",
)
REQUIRED_FIELDS = ("code", "name", "type", "region")


@dataclass
class SiteValues:
    """A site's values after validation, ready to be written."""

    code: str
    name: str
    type: str
    region: str
    country: str = "FR"
    city: str | None = None
    time_zone: str = "Europe/Paris"
    operator: str = "internal"
    provider: str | None = None
    channels: list[str] = field(default_factory=lambda: ["in_person"])
    manager_name: str | None = None
    manager_email: str | None = None


def fold(text: str) -> str:
    """Lower case without accents or separators, to match labels written by hand."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return "".join(ch for ch in text.lower() if ch.isalnum())


# Identifiers plus the English and French labels people type in spreadsheets.
_TYPE_WORDS = {
    "branch": ["branch", "agence", "agence bancaire"],
    "shop": ["shop", "store", "magasin", "boutique"],
    "agency": ["agency", "agence commerciale"],
    "call_centre": ["call centre", "call center", "centre d'appels", "centre de contacts"],
    "visa_centre": ["visa centre", "visa application centre", "centre de demande de visas"],
    "field_sales": ["field sales", "field sales team", "force de vente terrain"],
}
_OPERATOR_WORDS = {
    "internal": ["internal", "interne"],
    "outsourced": ["outsourced", "externalise", "prestataire", "external"],
}
_CHANNEL_WORDS = {
    "in_person": ["in person", "in_person", "physique", "presentiel", "en personne", "agence"],
    "phone": ["phone", "telephone", "tel"],
    "digital": ["digital", "numerique", "web", "online", "en ligne"],
}


def word_index(table: dict[str, list[str]]) -> dict[str, str]:
    """Folded identifier or word → identifier, to read values typed by hand."""
    index = {}
    for ident, words in table.items():
        index[fold(ident)] = ident
        for word in words:
            index[fold(word)] = ident
    return index


_TYPES = word_index(_TYPE_WORDS)
_OPERATORS = word_index(_OPERATOR_WORDS)
CHANNEL_INDEX = word_index(_CHANNEL_WORDS)
_TIME_ZONES = available_timezones()


def _text(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    return str(value).strip()


def parse_channels(value: str) -> list[str] | None:
    parts = [p for p in value.replace("|", ";").replace(",", ";").split(";") if p.strip()]
    channels = []
    for part in parts:
        ident = CHANNEL_INDEX.get(fold(part))
        if ident is None:
            return None
        if ident not in channels:
            channels.append(ident)
    return channels


def default_channels(site_type: str) -> list[str]:
    if site_type == "call_centre":
        return ["phone", "digital"]
    if site_type == "field_sales":
        return ["in_person", "phone"]
    return ["in_person"]


def validate_site(
    raw: dict[str, Any], row: int | None = None
) -> tuple[SiteValues | None, list[FieldError]]:
    """Check one site's raw values (from a form, a file row or an API item)."""
    errors: list[FieldError] = []

    def err(field_name: str, message: str) -> None:
        errors.append(FieldError(field_name, message, row))

    values = {key: _text(raw, key) for key in SITE_FIELDS}
    for key in REQUIRED_FIELDS:
        if not values[key]:
            err(key, _("This value is required."))
    code = values["code"].upper()
    if code and (len(code) > 40 or not all(ch.isalnum() or ch in "-_." for ch in code)):
        err("code", _("Use at most 40 letters, digits, dashes, dots or underscores."))
    if len(values["name"]) > 200:
        err("name", _("At most 200 characters."))
    if len(values["region"]) > 120:
        err("region", _("At most 120 characters."))
    site_type = _TYPES.get(fold(values["type"])) if values["type"] else None
    if values["type"] and site_type is None:
        err(
            "type",
            _(
                "Unknown site type “%(value)s”; expected one of: %(choices)s.",
                value=values["type"],
                choices=", ".join(SITE_TYPES),
            ),
        )
    country = values["country"].upper() or "FR"
    if len(country) != 2 or not country.isalpha():
        err("country", _("Use the two-letter country code (e.g. FR, MA)."))
    time_zone = values["time_zone"] or "Europe/Paris"
    if time_zone not in _TIME_ZONES:
        err("time_zone", _("Unknown time zone “%(value)s” (e.g. Europe/Paris).", value=time_zone))
    operator = _OPERATORS.get(fold(values["operator"])) if values["operator"] else "internal"
    if operator is None:
        err(
            "operator",
            _(
                "Unknown operator “%(value)s”; expected internal or outsourced.",
                value=values["operator"],
            ),
        )
    provider = values["provider"] or None
    if operator == "outsourced" and not provider:
        err("provider", _("An outsourced site needs the provider's name."))
    if operator == "internal":
        provider = None
    if values["channels"]:
        channels = parse_channels(values["channels"])
        if channels is None:
            err(
                "channels",
                _(
                    "Unknown channel in “%(value)s”; expected: %(choices)s.",
                    value=values["channels"],
                    choices=", ".join(CHANNELS),
                ),
            )
        elif not channels:
            err("channels", _("Name at least one channel."))
    else:
        channels = default_channels(site_type or "")
    manager_email = values["manager_email"].lower() or None
    if manager_email and ("@" not in manager_email or len(manager_email) > 254):
        err("manager_email", _("Enter a valid email address."))
    if errors:
        return None, errors
    return (
        SiteValues(
            code=code,
            name=values["name"],
            type=site_type,
            region=values["region"],
            country=country,
            city=values["city"] or None,
            time_zone=str(ZoneInfo(time_zone)),
            operator=operator,
            provider=provider,
            channels=channels,
            manager_name=values["manager_name"] or None,
            manager_email=manager_email,
        ),
        [],
    )


def find_region(session: Session, name: str) -> Region | None:
    """Match names case-insensitively, accents included (SQLite's lower() is ASCII-only,
    so compare in Python: a network has a handful of regions); failing that, a name that
    differs only by accents, spaces or dashes ("Auvergne Rhone-Alpes") is the same region,
    never a new one that would split every roll-up."""
    wanted = name.strip().casefold()
    exact = session.scalar(select(Region).where(Region.name == name.strip()))
    if exact is not None:
        return exact
    regions = list(session.scalars(select(Region)))
    found = next((r for r in regions if r.name.casefold() == wanted), None)
    if found is None and fold(name):
        found = next((r for r in regions if fold(r.name) == fold(name)), None)
    return found


def unknown_region_error(name: str, row: int | None = None) -> FieldError:
    if row is None:  # the site form
        message = _("Unknown region “%(name)s”: choose one from the list.", name=name)
    else:  # a file row
        message = _(
            "Unknown region “%(name)s”: correct the name, or tick “Create the regions "
            "that do not exist yet” to add it to the network.",
            name=name,
        )
    return FieldError("region", message, row)


def get_or_create_region(session: Session, name: str) -> Region:
    region = find_region(session, name)
    if region is None:
        region = Region(name=name.strip())
        session.add(region)
        session.flush()
    return region


def _manager(session: Session, values: SiteValues) -> Person | None:
    if not values.manager_email and not values.manager_name:
        return None
    person = None
    if values.manager_email:
        person = session.scalar(select(Person).where(Person.email == values.manager_email))
    if person is None and values.manager_name and not values.manager_email:
        person = session.scalar(
            select(Person).where(Person.full_name == values.manager_name, Person.email.is_(None))
        )
    if person is None:
        person = Person(
            full_name=values.manager_name or values.manager_email, email=values.manager_email
        )
        session.add(person)
        session.flush()
    elif values.manager_name and person.full_name != values.manager_name:
        person.full_name = values.manager_name
    return person


def apply_site_values(session: Session, site: Site, values: SiteValues) -> bool:
    """Write `values` onto `site`; True when anything changed."""
    region = get_or_create_region(session, values.region)
    manager = _manager(session, values)
    target = {
        "code": values.code,
        "name": values.name,
        "type": values.type,
        "region_id": region.id,
        "country": values.country,
        "city": values.city,
        "time_zone": values.time_zone,
        "operator": values.operator,
        "provider": values.provider,
        "channel_in_person": "in_person" in values.channels,
        "channel_phone": "phone" in values.channels,
        "channel_digital": "digital" in values.channels,
    }
    if manager is not None or values.manager_email or values.manager_name:
        target["manager_id"] = manager.id if manager else None
    changed = False
    for key, value in target.items():
        if getattr(site, key) != value:
            setattr(site, key, value)
            changed = True
    return changed


def find_site(session: Session, code: str) -> Site | None:
    return session.scalar(select(Site).where(Site.code == code.strip().upper()))


def save_site(
    session: Session,
    raw: dict[str, Any],
    site: Site | None = None,
    *,
    create_region: bool = False,
    extra_errors: Iterable[FieldError] = (),
) -> Site:
    """Create (site=None) or update a site from raw values; raises Invalid with
    every error (`extra_errors`: those the caller found, reported together). The region
    must exist unless `create_region` (the user confirmed a new one)."""
    extra = list(extra_errors)
    values, errors = validate_site(raw)
    if extra:
        # the caller's errors about the region choice replace "required" on the region
        errors = [e for e in errors if e.field != "region"] + extra
    if values is not None and not create_region and find_region(session, values.region) is None:
        errors.append(unknown_region_error(values.region))
    if values is not None:
        other = find_site(session, values.code)
        if other is not None and other is not site:
            errors.append(FieldError("code", _("Another site already has this code.")))
    if errors:
        raise Invalid(errors)
    if site is None:
        site = Site(code=values.code)
        apply_site_values(session, site, values)
        session.add(site)
    else:
        apply_site_values(session, site, values)
    session.flush()
    return site


NEW_REGION = "__new__"  # the site form's "New region…" choice


def save_site_choosing_region(
    session: Session,
    raw: dict[str, Any],
    site: Site | None = None,
    *,
    choice: str,
    new_region: str = "",
    confirmed: bool = False,
) -> Site:
    """The site form: the region is picked from the list (`choice`, a region's name);
    NEW_REGION needs a name that is not already a region and the confirmation. Every
    problem is reported at once (Invalid)."""
    values = dict(raw)
    choice = choice.strip()
    problems: list[FieldError] = []
    create = False
    if choice == NEW_REGION:
        name = new_region.strip()
        values["region"] = name
        existing = find_region(session, name) if name else None
        if not name:
            problems.append(FieldError("new_region", _("Type the new region's name.")))
        elif existing is not None:
            problems.append(
                FieldError(
                    "new_region",
                    _(
                        "The region “%(name)s” already exists: choose it in the list.",
                        name=existing.name,
                    ),
                )
            )
        elif not confirmed:
            problems.append(
                FieldError(
                    "confirm_new_region",
                    _("Tick this box to confirm that “%(name)s” is a new region.", name=name),
                )
            )
        else:
            create = True
    elif not choice:
        problems.append(FieldError("region", _("Choose a region, or “New region…” to create one.")))
    else:
        values["region"] = choice
    return save_site(session, values, site, create_region=create, extra_errors=problems)


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


def upsert_sites(
    session: Session,
    rows: Iterable[tuple[int, dict[str, Any]]],
    *,
    update_only: bool = False,
    create_regions: bool = True,
    source: str = "import",
) -> UpsertResult:
    """Validate every row, then write all of them or none.

    `rows` are (row number, raw values). Raises Invalid with every error found.
    Without `create_regions`, a region that does not exist is an error on its row.
    The caller owns the transaction: it commits on success and rolls back on failure."""
    rows = list(rows)
    errors: list[FieldError] = []
    validated: list[SiteValues] = []
    seen: dict[str, int] = {}
    for row_number, raw in rows:
        values, row_errors = validate_site(raw, row_number)
        errors.extend(row_errors)
        if values is None:
            continue
        if values.code in seen:
            errors.append(
                FieldError(
                    "code",
                    _(
                        "Code %(code)s appears twice in this file (also on row %(other)s).",
                        code=values.code,
                        other=seen[values.code],
                    ),
                    row_number,
                )
            )
            continue
        seen[values.code] = row_number
        validated.append(values)
    existing = {}
    codes = list(seen)
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        for site in session.scalars(select(Site).where(Site.code.in_(chunk))):
            existing[site.code] = site
    if update_only:
        for values in validated:
            if values.code not in existing:
                errors.append(
                    FieldError(
                        "code",
                        _("Unknown site code %(code)s.", code=values.code),
                        seen[values.code],
                    )
                )
    if not create_regions:
        known: dict[str, bool] = {}
        for values in validated:
            if values.region not in known:
                known[values.region] = find_region(session, values.region) is not None
            if not known[values.region]:
                errors.append(unknown_region_error(values.region, seen[values.code]))
    if errors:
        errors.sort(
            key=lambda e: (e.row or 0, SITE_FIELDS.index(e.field) if e.field in SITE_FIELDS else 99)
        )
        raise Invalid(errors)
    result = UpsertResult()
    for values in validated:
        site = existing.get(values.code)
        if site is None:
            site = Site(code=values.code)
            apply_site_values(session, site, values)
            session.add(site)
            result.created += 1
        elif apply_site_values(session, site, values):
            result.updated += 1
        else:
            result.unchanged += 1
    session.flush()
    record_event(
        session,
        "site",
        "import",
        f"{source}: {result.created} created, {result.updated} updated, "
        f"{result.unchanged} unchanged",
        changes=result.as_dict(),
    )
    return result
