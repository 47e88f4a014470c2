"""Imports every domain's models so the metadata (and Alembic) sees them all."""

from programme.api.models import ApiToken  # noqa: F401
from programme.audit import AuditEvent  # noqa: F401
from programme.auth.models import User  # noqa: F401
from programme.deployment.models import (  # noqa: F401
    Assignment,
    ChecklistItem,
    Coach,
    CoachTraining,
    Engagement,
    Milestone,
    ProgressEvent,
    Visit,
    Wave,
    WaveSite,
    coach_region,
)
from programme.diagnostics.models import (  # noqa: F401
    Campaign,
    DeterminantAssessment,
    Finding,
    Irritant,
    ObservationSession,
    SurveyScore,
    Verbatim,
)
from programme.feedback.models import (  # noqa: F401
    FeedbackCase,
    FeedbackImportMapping,
    FeedbackResponse,
)
from programme.home.models import DigestPreference, DigestSent  # noqa: F401
from programme.jobs.models import Job  # noqa: F401
from programme.kpis.models import (  # noqa: F401
    ImportMapping,
    Kpi,
    KpiUpload,
    KpiUploadFile,
    KpiWeekRollup,
    Measurement,
    MeasurementRevision,
    PilotSiteAssignment,
)
from programme.network.models import Person, Region, Site  # noqa: F401
from programme.pilots.models import (  # noqa: F401
    Package,
    PackageElement,
    Pilot,
    PilotDecision,
    PilotImprovement,
    PilotKpi,
    PilotMember,
    PilotSite,
    PulseAnswer,
    pilot_irritant,
)
from programme.reports.models import Snapshot  # noqa: F401
from programme.value.models import GateMove, ValueDriver  # noqa: F401
