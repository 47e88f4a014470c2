"""KPI catalogue, measurements, corrections, weekly rollups and the intake pipeline."""
