"""What the programme is worth: value drivers that turn a package's KPI effect into
euros (Δ × d × Q × u), the arithmetic of planned / forecast / actual / estimate with honest
intervals, and the stage gates L0–L5 of each package.

Dependency order: auth → network → kpis/diagnostics → pilots → deployment → value → reports."""
