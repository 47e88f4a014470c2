"""Leadership roll-ups (issue 8): programme at a glance, deployment impact on KPIs,
region / wave / site reports, Excel and PDF exports, monthly snapshots.

Modules: `services` (the figures every screen and export reads), `impact` (deployment
impact: ATT per wave with a site-level bootstrap), `snapshots`, `exports` (XLSX / PDF),
`charts` (Vega-Lite specs shared by screens and the PDF); views in `views`,
`impact_views`, `export_views`."""
