"""A KPI's name as the subject of a French sentence: "Le temps d'attente a baissé de …",
never "Temps d'attente a baissé" nor "Temps d'attente : baisse de …".

The default KPIs have their subject written out (`SUBJECTS`, used while their French name
is the catalogue's). Any other KPI (admins create them) gets its article from its name:
"l’" before a vowel or a mute h, "la"/"le" when the first word's ending tells the gender
(-tion, -té, -ure… / -ment, -age, taux, temps…), "le nombre de …" for a count named in
the plural; when nothing tells, the sentence names it as an indicator: "l’indicateur
« Délais de traitement »" (always masculine singular). The participle ("a baissé") does
not agree with avoir, so the article is all a sentence needs.
"""

from __future__ import annotations

import re

# code: (French name in the default catalogue, its subject in a sentence)
SUBJECTS: dict[str, tuple[str, str]] = {
    "WAIT": ("Temps d'attente", "le temps d'attente"),
    "CONV": ("Taux de transformation", "le taux de transformation"),
    "CSAT": ("Satisfaction exprimée", "la satisfaction exprimée"),
    "NPS": ("Net Promoter Score (NPS)", "le Net Promoter Score (NPS)"),
    "FCR": ("Résolution au premier contact", "la résolution au premier contact"),
    "PICKUP": ("Taux de décroché", "le taux de décroché"),
    "CONTACTS": ("Contacts traités", "le nombre de contacts traités"),
    "VISITS": ("Clients reçus", "le nombre de clients reçus"),
}

_VOWELS = "aàâäeéèêëiîïoôöuùûüyœæh"
# Words whose -s or -x is not a plural.
_SINGULAR_S = {"temps", "taux", "prix", "poids", "cours", "nps", "délai", "recours", "accès"}
_MASCULINE = {
    "taux",
    "temps",
    "nombre",
    "score",
    "délai",
    "coût",
    "chiffre",
    "panier",
    "volume",
    "montant",
    "prix",
    "niveau",
    "indice",
    "ratio",
    "pourcentage",
    "total",
    "solde",
}
_FEMININE = {"part", "note", "durée", "moyenne", "valeur", "fréquence", "proportion"}
_FEMININE_ENDINGS = ("tion", "sion", "té", "ure", "ance", "ence", "ée", "ude", "ise", "ité")
_MASCULINE_ENDINGS = ("ment", "age", "isme", "eau")


def _lower_first(name: str) -> str:
    """'Temps d'attente' -> "temps d'attente"; a name with capitals further on (a proper
    name such as "Net Promoter Score") or an acronym keeps its case."""
    words = re.sub(r"\(.*?\)", "", name).split()
    first = words[0] if words else ""
    if len(first) > 1 and first.isupper():
        return name
    if any(word[:1].isupper() for word in words[1:]):
        return name
    return name[:1].lower() + name[1:]


def french_subject(code: str, name_fr: str, kind: str = "") -> str:
    """The KPI as the subject of a sentence, with its article, in lower case."""
    name = (name_fr or code or "").strip()
    default = SUBJECTS.get(code)
    if default and default[0] == name:
        return default[1]
    if not name:
        return ""
    lowered = _lower_first(name)
    first = re.split(r"[\s'’]", lowered, maxsplit=1)[0].lower()
    plural = first.endswith(("s", "x")) and first not in _SINGULAR_S and len(first) > 3
    if plural:
        if kind == "count":
            return f"le nombre de {lowered}"
        return f"l’indicateur « {name} »"
    if first[:1] in _VOWELS and first not in {"haut", "hausse", "hauteur"}:
        return f"l’{lowered}"
    if first in _MASCULINE or (first.endswith(_MASCULINE_ENDINGS) and first not in _FEMININE):
        return f"le {lowered}"
    if first in _FEMININE or first.endswith(_FEMININE_ENDINGS):
        return f"la {lowered}"
    return f"l’indicateur « {name} »"


def sentence_start(text: str) -> str:
    return text[:1].upper() + text[1:]
