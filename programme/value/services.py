"""Value drivers and stage gates: validation (every field's message in the user's language,
nothing saved on a refusal), saving, and the gate moves with their history."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from programme.errors import Conflict, FieldError, Invalid
from programme.kpis.models import Kpi
from programme.pilots.models import Package
from programme.value.models import GATE_ORDER, LEVERS, GateMove, ValueDriver


def _refused(errors: dict[str, str]) -> Invalid:
    return Invalid(FieldError(name, message) for name, message in errors.items())


def frozen_message(package: Package) -> str:
    """Why a driver of a package past gate L3 cannot change (the 409 of `save_driver`)."""
    return _(
        "The planned value of %(package)s is frozen since gate L3: its KPI, volume, "
        "lever, unit values and attribution share can no longer change. Move the "
        "gate back below L3, with a reason, to plan again.",
        package=package.name,
    )


def _number(raw: Any) -> float | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        raise TypeError
    number = float(str(raw).replace(",", ".").replace("\u202f", "").replace(" ", ""))
    if not math.isfinite(number):
        raise TypeError
    return number


def drivers(session: Session, package_id: int | None = None) -> list[ValueDriver]:
    stmt = select(ValueDriver).order_by(ValueDriver.package_id, ValueDriver.id)
    if package_id is not None:
        stmt = stmt.where(ValueDriver.package_id == package_id)
    return list(session.scalars(stmt))


def save_driver(
    session: Session, values: dict[str, Any], driver: ValueDriver | None = None
) -> ValueDriver:
    """Check every field, then create or update the driver (flushes; the caller commits).
    Raises Invalid, or Conflict(package) when the package's planned value is frozen.

    values: package (id), kpi (code), volume_kpi (code), lever, unit_low,
    unit_most_likely, unit_high, source, owner, explanation, attribution."""
    errors: dict[str, str] = {}
    package = None
    try:
        package_id = int(values.get("package") or 0)
    except (TypeError, ValueError):
        package_id = 0
    if package_id:
        package = session.get(Package, package_id)
    if package is None:
        errors["package"] = _("Choose an existing package.")

    def kpi_by_code(field: str) -> Kpi | None:
        code = str(values.get(field) or "").strip().upper()
        kpi = session.scalar(select(Kpi).where(Kpi.code == code)) if code else None
        if kpi is None:
            errors[field] = _("Choose a KPI of the catalogue.")
        return kpi

    kpi = kpi_by_code("kpi")
    volume = kpi_by_code("volume_kpi")
    if volume is not None and volume.kind != "count":
        errors["volume_kpi"] = _(
            "The volume must be a count KPI (e.g. CONTACTS or VISITS), not %(code)s.",
            code=volume.code,
        )
    if kpi is not None and kpi.kind == "count" and kpi is volume:
        errors["kpi"] = _("The KPI whose effect is valued cannot be its own volume.")
    lever = str(values.get("lever") or "")
    if lever not in LEVERS:
        errors["lever"] = _("Choose cost, revenue or non-financial.")
    units: dict[str, float | None] = {}
    for field in ("unit_low", "unit_most_likely", "unit_high"):
        try:
            units[field] = _number(values.get(field))
        except (TypeError, ValueError):
            errors[field] = _("Not a number.")
            units[field] = None
    if lever in ("cost", "revenue") and not any(f in errors for f in units):
        missing = [f for f, v in units.items() if v is None]
        for field in missing:
            errors[field] = _("A financial lever needs a unit value in euros.")
        if not missing:
            low, ml, high = units["unit_low"], units["unit_most_likely"], units["unit_high"]
            if low > ml:
                errors["unit_low"] = _("The low value must not exceed the most likely value.")
            if ml > high:
                errors["unit_high"] = _("The high value must not be below the most likely value.")
    if lever == "none":
        units = dict.fromkeys(units)
    source = str(values.get("source") or "").strip()
    if lever in ("cost", "revenue") and not source:
        errors["source"] = _("Say where the unit value comes from.")
    if len(source) > 300:
        errors["source"] = _("At most 300 characters.")
    owner = str(values.get("owner") or "").strip()
    if len(owner) > 200:
        errors["owner"] = _("At most 200 characters.")
    explanation = str(values.get("explanation") or "").strip()
    if len(explanation) > 5000:
        errors["explanation"] = _("At most 5,000 characters.")
    attribution: float | None = 1.0
    try:
        raw = values.get("attribution")
        attribution = _number(raw)
        if attribution is None:
            attribution = driver.attribution if driver is not None else 1.0
        elif not 0 < attribution <= 1:
            errors["attribution"] = _(
                "The attribution share is a number above 0 and at most 1 (e.g. 0.6)."
            )
    except (TypeError, ValueError):
        errors["attribution"] = _("Not a number.")
    if package is not None and kpi is not None and "kpi" not in errors:
        other = session.scalar(
            select(ValueDriver).where(
                ValueDriver.package_id == package.id, ValueDriver.kpi_id == kpi.id
            )
        )
        if other is not None and other is not driver:
            errors["kpi"] = _(
                "This package already has a value driver for %(code)s.", code=kpi.code
            )
    if errors:
        raise _refused(errors)
    planned_inputs = (kpi.id, volume.id, lever, units["unit_low"], units["unit_most_likely"],
                      units["unit_high"], attribution)  # fmt: skip
    frozen = [p for p in {package.id, driver.package_id if driver else package.id}
              if planned_is_frozen(session, p)]  # fmt: skip
    if frozen and (
        driver is None
        or planned_inputs
        != (
            driver.kpi_id,
            driver.volume_kpi_id,
            driver.lever,
            driver.unit_low,
            driver.unit_most_likely,
            driver.unit_high,
            driver.attribution,
        )  # fmt: skip
        or driver.package_id != package.id
    ):
        raise Conflict(package)
    # One driver save per KPI at a time (PostgreSQL row lock; SQLite writes are serial): two
    # packages saved together cannot both pass the check on the shares of a shared site.
    session.execute(select(Kpi.id).where(Kpi.id == kpi.id).with_for_update())
    shared = _attribution_conflicts(session, package.id, kpi.id, attribution, driver)
    if shared:
        raise Invalid.on("attribution", shared)
    if driver is None:
        driver = ValueDriver(package_id=package.id)
        session.add(driver)
    driver.package_id = package.id
    driver.kpi_id, driver.volume_kpi_id = kpi.id, volume.id
    driver.lever = lever
    driver.unit_low = units["unit_low"]
    driver.unit_most_likely = units["unit_most_likely"]
    driver.unit_high = units["unit_high"]
    driver.source, driver.owner, driver.explanation = source, owner, explanation
    driver.attribution = attribution
    session.flush()
    return driver


def _attribution_conflicts(
    session: Session, package_id: int, kpi_id: int, share: float, driver: ValueDriver | None
) -> str | None:
    """Why this share cannot be saved, or None: at every site of the package's waves that
    another package also claims for the same KPI, the shares must sum to at most 1."""
    from programme.deployment.models import Wave, WaveSite
    from programme.network.models import Site

    mine = select(WaveSite.site_id).join(Wave, Wave.id == WaveSite.wave_id).where(
        Wave.package_id == package_id
    )  # fmt: skip
    rows = session.execute(
        select(ValueDriver.id, ValueDriver.attribution, Package.name, Site.code)
        .join(Package, Package.id == ValueDriver.package_id)
        .join(Wave, Wave.package_id == ValueDriver.package_id)
        .join(WaveSite, WaveSite.wave_id == Wave.id)
        .join(Site, Site.id == WaveSite.site_id)
        .where(
            ValueDriver.kpi_id == kpi_id,
            ValueDriver.package_id != package_id,
            WaveSite.site_id.in_(mine),
        )
        .distinct()
    ).all()
    if driver is not None:
        rows = [r for r in rows if r[0] != driver.id]
    by_site: dict[str, dict[int, tuple[float, str]]] = {}
    for driver_id, other_share, name, code in rows:
        by_site.setdefault(code, {})[driver_id] = (other_share, name)
    over = {
        code: others
        for code, others in by_site.items()
        if share + sum(s for s, _n in others.values()) > 1 + 1e-9
    }
    if not over:
        return None
    codes = sorted(over)
    others = sorted({name for o in over.values() for _s, name in o.values()})
    taken = max(sum(s for s, _n in o.values()) for o in over.values())
    return _(
        "Sites %(sites)s are also claimed for this KPI by %(packages)s (share %(taken)s): "
        "the shares of a site must sum to at most 1. Set this package's share to at most "
        "%(left)s, or lower the other package's share first.",
        sites=", ".join(codes[:5]) + (" …" if len(codes) > 5 else ""),
        packages=", ".join(others),
        taken=format_decimal(round(taken, 4)),
        left=format_decimal(round(max(0.0, 1 - taken), 4)),
    )


# --- stage gates ---------------------------------------------------------------------------


def current_gate(session: Session, package_id: int) -> str:
    last = session.scalar(
        select(GateMove.to_gate)
        .where(GateMove.package_id == package_id)
        .order_by(GateMove.id.desc())
        .limit(1)
    )
    return last or "L0"


def gate_history(session: Session, package_id: int) -> list[GateMove]:
    return list(
        session.scalars(
            select(GateMove).where(GateMove.package_id == package_id).order_by(GateMove.id)
        )
    )


def move_gate(
    session: Session,
    user,
    package: Package,
    to: str,
    comment: str,
    reason: str = "",
    evidence: str = "",
    effect_excludes_zero: bool | None = None,
) -> GateMove:
    """One action: the package's gate goes to `to`, with a comment (audited, kept in the
    history). A skipped gate or a move backwards needs a reason; L5 is signed off by finance
    only, with evidence, and needs an effect interval excluding 0 or a recorded reason."""
    errors: dict[str, str] = {}
    comment, reason, evidence = (
        (comment or "").strip(),
        (reason or "").strip(),
        (evidence or "").strip(),
    )
    if to not in GATE_ORDER:
        raise Invalid.on("to", _("Choose a gate from L0 to L5."))
    now = current_gate(session, package.id)
    if not comment:
        errors["comment"] = _("Say in a comment why the gate moves.")
    step = GATE_ORDER.index(to) - GATE_ORDER.index(now)
    if step == 0:
        errors["to"] = _("The package is already at %(gate)s.", gate=to)
    elif (step > 1 or step < 0) and not reason:
        errors["reason"] = (
            _("Moving back from %(now)s to %(to)s needs a reason.", now=now, to=to)
            if step < 0
            else _("Skipping from %(now)s to %(to)s needs a reason.", now=now, to=to)
        )
    if to == "L5":
        if getattr(user, "role", None) != "finance":
            errors["to"] = _("Only the management controller (finance) signs off L5.")
        if not evidence:
            errors["evidence"] = _("Signing off L5 needs the evidence (a document or a link).")
        if not effect_excludes_zero and not reason:
            errors["reason"] = _(
                "The effect's interval includes 0: record the reason for confirming the value."
            )
    if errors:
        raise _refused(errors)
    move = GateMove(
        package_id=package.id,
        from_gate=now,
        to_gate=to,
        comment=comment,
        reason=reason,
        evidence=evidence,
        moved_by_id=getattr(user, "id", None),
        moved_by=getattr(user, "display_name", None) or getattr(user, "email", "") or "",
    )
    session.add(move)
    session.flush()
    l3 = GATE_ORDER.index("L3")
    if GATE_ORDER.index(now) < l3 <= GATE_ORDER.index(to):
        from programme.value import plan

        plan.freeze(session, package, move.id, date.today())
    return move


def planned_is_frozen(session: Session, package_id: int) -> bool:
    """Planned value is frozen from gate L3 on (an edit is refused with 409)."""
    return GATE_ORDER.index(current_gate(session, package_id)) >= GATE_ORDER.index("L3")
