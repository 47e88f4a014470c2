"""Pilots: design, results statistics, power calculator, team feel, decisions, packages."""
