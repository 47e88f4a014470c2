"""The demo network: a French-speaking retail bank and insurer with branches, shops,
call centres (one outsourced abroad) and visa application centres."""

from __future__ import annotations

import random

from programme.network.services import upsert_sites

REGIONS = {
    "Île-de-France": ("IDF", ["Paris 8e", "Paris 11e", "Paris 15e", "Boulogne-Billancourt", "Saint-Denis", "Versailles", "Créteil", "Nanterre", "Argenteuil", "Montreuil", "Évry", "Cergy", "Meaux", "Vincennes", "Rueil-Malmaison"]),
    "Auvergne-Rhône-Alpes": ("ARA", ["Lyon 2e", "Lyon 7e", "Villeurbanne", "Grenoble", "Saint-Étienne", "Clermont-Ferrand", "Annecy", "Chambéry", "Valence", "Bourg-en-Bresse", "Roanne", "Vienne", "Vichy", "Aurillac"]),
    "Hauts-de-France": ("HDF", ["Lille", "Roubaix", "Tourcoing", "Amiens", "Dunkerque", "Calais", "Valenciennes", "Arras", "Beauvais", "Boulogne-sur-Mer", "Lens", "Douai", "Compiègne", "Saint-Quentin"]),
    "Nouvelle-Aquitaine": ("NAQ", ["Bordeaux", "Mérignac", "Pessac", "Limoges", "Poitiers", "Pau", "La Rochelle", "Bayonne", "Angoulême", "Niort", "Périgueux", "Agen", "Brive-la-Gaillarde", "Mont-de-Marsan"]),
    "Occitanie": ("OCC", ["Toulouse Capitole", "Toulouse Compans", "Montpellier", "Nîmes", "Perpignan", "Béziers", "Narbonne", "Albi", "Carcassonne", "Tarbes", "Montauban", "Rodez", "Sète", "Castres"]),
    "Grand Est": ("GES", ["Strasbourg", "Mulhouse", "Colmar", "Metz", "Nancy", "Reims", "Troyes", "Charleville-Mézières", "Épinal", "Thionville", "Haguenau", "Châlons-en-Champagne", "Saint-Dié", "Verdun"]),
    "Provence-Alpes-Côte d'Azur": ("PAC", ["Marseille Vieux-Port", "Marseille Prado", "Nice", "Toulon", "Aix-en-Provence", "Avignon", "Cannes", "Antibes", "Fréjus", "Arles", "Gap", "Hyères", "Martigues", "Grasse"]),
    "Bretagne": ("BRE", ["Rennes", "Brest", "Quimper", "Lorient", "Vannes", "Saint-Malo", "Saint-Brieuc", "Lannion", "Concarneau", "Fougères", "Vitré", "Morlaix", "Dinan"]),
}

FIRST_NAMES = ["Camille", "Julien", "Sophie", "Nicolas", "Claire", "Thomas", "Émilie", "Antoine", "Nathalie", "Mehdi", "Isabelle", "Karim", "Céline", "Mathieu", "Aurélie", "Yannick", "Fatima", "Olivier", "Laure", "Sébastien", "Inès", "Pierre", "Amandine", "Hugo"]
LAST_NAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier", "Benali", "Nguyen", "Girard", "Bonnet", "Lambert", "Fontaine", "Chevalier", "Mercier"]


def _ascii(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def demo_site_rows() -> list[tuple[int, dict]]:
    rnd = random.Random(20261123)
    rows: list[dict] = []
    for region, (prefix, cities) in REGIONS.items():
        for number, city in enumerate(cities, start=1):
            site_type = "branch" if number % 3 else "shop"
            first, last = rnd.choice(FIRST_NAMES), rnd.choice(LAST_NAMES)
            label = "Agence" if site_type == "branch" else "Boutique"
            rows.append(
                {
                    "code": f"{prefix}-{number:03d}",
                    "name": f"{label} {city}",
                    "type": site_type,
                    "region": region,
                    "country": "FR",
                    "city": city,
                    "time_zone": "Europe/Paris",
                    "operator": "internal",
                    "channels": "in_person;phone" if number % 4 == 0 else "in_person",
                    "manager_name": f"{first} {last}",
                    "manager_email": f"{_ascii(first)}.{_ascii(last)}.{prefix.lower()}{number}@demo-reseau.fr",
                }
            )
    rows += [
        {"code": "CC-LIL", "name": "Centre de contacts Lille", "type": "call_centre", "region": "Hauts-de-France", "country": "FR", "city": "Lille", "time_zone": "Europe/Paris", "operator": "internal", "channels": "phone;digital", "manager_name": "Véronique Caron", "manager_email": "veronique.caron@demo-reseau.fr"},
        {"code": "CC-LYO", "name": "Centre de contacts Lyon", "type": "call_centre", "region": "Auvergne-Rhône-Alpes", "country": "FR", "city": "Lyon", "time_zone": "Europe/Paris", "operator": "internal", "channels": "phone;digital", "manager_name": "Patrice Gauthier", "manager_email": "patrice.gauthier@demo-reseau.fr"},
        {"code": "CC-RAB", "name": "Centre d'appels Rabat (prestataire)", "type": "call_centre", "region": "Occitanie", "country": "MA", "city": "Rabat", "time_zone": "Africa/Casablanca", "operator": "outsourced", "provider": "Atlas Relation Client", "channels": "phone;digital", "manager_name": "Youssef Alaoui", "manager_email": "y.alaoui@atlas-relation.example"},
        {"code": "VC-PAR", "name": "Centre de demande de visas Paris", "type": "visa_centre", "region": "Île-de-France", "country": "FR", "city": "Paris 17e", "time_zone": "Europe/Paris", "operator": "outsourced", "provider": "VisaServices Europe", "channels": "in_person;digital", "manager_name": "Hélène Rousseau", "manager_email": "helene.rousseau@visaservices.example"},
        {"code": "VC-MRS", "name": "Centre de demande de visas Marseille", "type": "visa_centre", "region": "Provence-Alpes-Côte d'Azur", "country": "FR", "city": "Marseille", "time_zone": "Europe/Paris", "operator": "outsourced", "provider": "VisaServices Europe", "channels": "in_person;digital", "manager_name": "Rachid Haddad", "manager_email": "rachid.haddad@visaservices.example"},
    ]
    return list(enumerate(rows, start=1))


def seed_network(session) -> dict:
    return upsert_sites(session, demo_site_rows(), source="seed-demo").as_dict()
