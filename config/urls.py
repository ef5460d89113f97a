"""The composition root of the URLs. Each app's pages are included by module
name; the /api/ namespace spans the apps, so its routes are listed here and
import the API views (the only app imports in config, allowed by name in
pyproject.toml's import-linter contract "config imports no app")."""

from django.contrib import admin
from django.urls import include, path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from campaigns.api import campaigns as campaigns_api
from campaigns.api import conversion as conversion_api
from campaigns.api import opportunities as opportunities_api
from campaigns.api import plans as plans_api
from campaigns.api import programs as programs_api
from campaigns.api import rankings as rankings_api
from campaigns.api import reports as reports_api
from engagement import api as engagement_api
from imports.api import CsvImportApi
from readiness import api as readiness_api
from readiness import models_api as readiness_models_api


class KeyConverter:
    """`<key:pk>`: a database key, a whole number of at most 18 digits (within
    the 64-bit keys). A longer number is no key: the URL matches no route and
    answers 404, where `<int:pk>` passed it on to a lookup that SQLite cannot
    make (issue 18: a 500)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(KeyConverter, "key")

campaigns_router = SimpleRouter()
campaigns_router.register("campaigns", campaigns_api.CampaignViewSet, basename="campaign")
campaigns_router.register("programs", programs_api.ProgramViewSet, basename="program")
campaigns_router.register("spend", programs_api.SpendViewSet, basename="spend")
campaigns_router.register("rankings", rankings_api.RankingViewSet, basename="ranking")
campaigns_router.register("pipeline-plans", plans_api.PipelinePlanViewSet, basename="plan")
campaigns_router.register(
    "opportunities", opportunities_api.OpportunityViewSet, basename="opportunity"
)

api_patterns = [
    path("accounts/", engagement_api.AccountEngagedListApi.as_view(), name="account-list"),
    path(
        "accounts/<key:pk>/engagement/",
        engagement_api.AccountEngagementApi.as_view(),
        name="account-engagement",
    ),
    path(
        "accounts/<key:pk>/follow/",
        engagement_api.AccountFollowApi.as_view(),
        name="account-follow",
    ),
    path(
        "accounts/<key:pk>/readiness/",
        readiness_api.AccountReadinessApi.as_view(),
        name="account-readiness",
    ),
    path("my-accounts/", engagement_api.MyAccountsApi.as_view(), name="my-accounts"),
    path("segments/", engagement_api.SegmentListApi.as_view(), name="segment-list"),
    path("scoring-models/", engagement_api.ScoringModelListApi.as_view(), name="scoring-models"),
    path("alerts/", engagement_api.AlertListApi.as_view(), name="alert-list"),
    path("imports/<str:kind>/", CsvImportApi.as_view(), name="csv-import"),
    *campaigns_router.urls,
    path("reports/programs/", reports_api.ProgramsReportApi.as_view(), name="report-programs"),
    path(
        "reports/campaigns/<key:pk>/",
        reports_api.CampaignReportApi.as_view(),
        name="report-campaign",
    ),
    path("reports/funnel/", reports_api.FunnelReportApi.as_view(), name="report-funnel"),
    path("reports/deals/", reports_api.DealMetricsReportApi.as_view(), name="report-deals"),
    path("reports/overview/", reports_api.OverviewReportApi.as_view(), name="report-overview"),
    path(
        "reports/conversion/",
        conversion_api.ConversionReportApi.as_view(),
        name="report-conversion",
    ),
    path(
        "readiness/models/",
        readiness_models_api.ReadinessModelListApi.as_view(),
        name="readiness-models",
    ),
    path(
        "readiness/models/train/",
        readiness_models_api.ReadinessTrainApi.as_view(),
        name="readiness-models-train",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]

# Named by string, like the apps' URL modules: /api/ answers its 404s in JSON.
handler404 = "core.views.not_found"

urlpatterns = [
    path("", include("core.urls")),
    path("", include("engagement.urls")),
    # The pages (login, account list, search ...); their 403 and 404 pages are
    # web/templates/403.html and 404.html, which Django's handlers render.
    path("", include("web.urls")),
    path("api/", include((api_patterns, "api"))),
    path("admin/", admin.site.urls),
]
