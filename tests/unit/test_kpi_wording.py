"""A KPI's French name with its article, as the subject of the worded readings: "Le temps
d'attente a baissé de …" (issue 16, item 5: sentences with their articles)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from flask_babel import force_locale

from programme.kpis.services import DEFAULT_KPIS
from programme.web import words
from programme.web.wording import french_subject


def test_every_default_kpi_has_its_subject():
    subjects = {row[0]: french_subject(row[0], row[2], row[4]) for row in DEFAULT_KPIS}
    assert subjects == {
        "WAIT": "le temps d'attente",
        "CONV": "le taux de transformation",
        "CSAT": "la satisfaction exprimée",
        "NPS": "le Net Promoter Score (NPS)",
        "FCR": "la résolution au premier contact",
        "PICKUP": "le taux de décroché",
        "CONTACTS": "le nombre de contacts traités",
        "VISITS": "le nombre de clients reçus",
    }


@pytest.mark.parametrize(
    ("name", "kind", "subject"),
    [
        ("Taux de réclamation", "rate", "le taux de réclamation"),
        ("Durée de l'entretien", "mean", "la durée de l'entretien"),
        ("Attente au guichet", "mean", "l’attente au guichet"),
        ("Habileté du conseiller", "mean", "l’habileté du conseiller"),
        ("Fidélisation", "rate", "la fidélisation"),
        ("Encaissement moyen", "mean", "l’encaissement moyen"),
        ("Panier moyen", "mean", "le panier moyen"),
        ("Rendez-vous honorés", "count", "le nombre de rendez-vous honorés"),
        ("Dossiers en retard", "mean", "l’indicateur « Dossiers en retard »"),
        ("Chrono", "mean", "l’indicateur « Chrono »"),
        ("CES", "mean", "l’indicateur « CES »"),
    ],
)
def test_other_kpis_get_their_article_from_their_name(name, kind, subject):
    assert french_subject("X", name, kind) == subject


def test_a_renamed_default_kpi_is_worded_from_its_new_name():
    assert french_subject("WAIT", "Durée d'attente", "mean") == "la durée d'attente"


def test_the_subject_starts_a_sentence_in_the_readers_language(app):
    kpi = SimpleNamespace(
        code="WAIT", name_fr="Temps d'attente", name_en="Waiting time", kind="mean"
    )
    subject = words.kpi_subject(kpi)
    with app.test_request_context():
        with force_locale("fr"):
            assert str(subject) == "Le temps d'attente"
            reading = words.lazy_gettext(
                "%(kpi)s fell by %(amount)s (%(relative)s), 95%% CI %(low)s to %(high)s",
                kpi=subject,
                amount="2,4 min",
                relative="-22 %",
                low="-3,1",
                high="-1,7",
            )
            assert str(reading).startswith("Le temps d'attente a baissé de 2,4 min")
        with force_locale("en"):
            assert str(subject) == "Waiting time"
            assert str(reading).startswith("Waiting time fell by 2,4 min")
