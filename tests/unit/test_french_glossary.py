"""The French catalogue uses the programme's words (../shared/GLOSSARY.md, issue 16 item 5):
dispositif, never "package"; météo, never "Statut (RAG)"; Prévu / Réel; valeur p; période
pilote; Boutique, never "Magasin"."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

CATALOGUE = Path(__file__).parents[2] / "programme/translations/fr/LC_MESSAGES/messages.po"
NOT_OUR_WORDS = {
    r"\bpackages?\b": "dispositif",
    r"Statut \(RAG\)": "Météo",
    r"\bp-valeur": "valeur p",
    r"période de pilote": "période pilote",
    r"\bMagasins?\b": "Boutique",
    r"Planifiée? / Réel": "Prévu / Réel",
}


def test_the_french_catalogue_speaks_the_glossary():
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle, locale="fr")
    found = []
    for message in catalogue:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            bare = re.sub(r"%\(\w+\)[sdf]", "", text or "")  # placeholders are code
            for pattern, word in NOT_OUR_WORDS.items():
                if re.search(pattern, bare):
                    found.append(f"{text!r}: say “{word}”")
    assert found == [], "\n".join(found)
