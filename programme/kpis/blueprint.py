"""The KPI screens' blueprint, shared by `views` and `import_views`."""

from flask import Blueprint

bp = Blueprint("kpis", __name__)
