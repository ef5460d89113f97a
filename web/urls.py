"""The pages people use in a browser. Every page needs a login; reads are for
every role, writes check the permission they need (web/permissions.py)."""

from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.urls.resolvers import URLPattern, URLResolver

from accounts.login_forms import ThrottledAuthenticationForm
from web import (
    account_page,
    campaigns_pages,
    imports_pages,
    jobs,
    junk_pages,
    ranking_pages,
    scoring_pages,
    segments_pages,
    sources_pages,
    spendreport_pages,
    views,
)

app_name = "web"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.HomeView.as_view(), name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True, authentication_form=ThrottledAuthenticationForm
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("my-accounts/", views.MyAccountsView.as_view(), name="my-accounts"),
    path("my-accounts/export.csv", views.MyAccountsCsvView.as_view(), name="my-accounts-csv"),
    path("accounts/", views.AccountListView.as_view(), name="account-list"),
    path("accounts/export.csv", views.AccountListCsvView.as_view(), name="account-list-csv"),
    path("accounts/<int:pk>/", account_page.AccountPageView.as_view(), name="account-detail"),
    path(
        "accounts/<int:pk>/follow/", account_page.AccountFollowView.as_view(), name="account-follow"
    ),
    path("accounts/<int:pk>/target/", views.AccountTargetView.as_view(), name="account-target"),
    path("search/", views.SearchView.as_view(), name="search"),
    path("jobs/<int:pk>/", jobs.JobProgressView.as_view(), name="job"),
]

# The marketer's workspace (issue 16): each room's module holds its own
# urlpatterns, added here; web/navigation.py lists the rooms in the shell.
# Room: segments
urlpatterns += segments_pages.urlpatterns

# Room: scoring
urlpatterns += scoring_pages.urlpatterns

# Room: campaigns
urlpatterns += campaigns_pages.urlpatterns

# Room: spend and campaign report
urlpatterns += spendreport_pages.urlpatterns

# Room: imports
urlpatterns += imports_pages.urlpatterns

# Room: sources
urlpatterns += sources_pages.urlpatterns

# Room: junk
urlpatterns += junk_pages.urlpatterns

# Room: ranking
urlpatterns += ranking_pages.urlpatterns

# Room: readiness models (issue 19, part 4)
urlpatterns += [path("", include("web.readiness_pages"))]

# The executive reports (issue 17): each report's module holds its urlpatterns,
# included here by name; web/navigation.py REPORT_TABS lists them as tabs.
# Room: overview
urlpatterns += [path("", include("web.overview_pages"))]

# Room: campaign report
urlpatterns += [path("", include("web.campaignreport_pages"))]

# Room: funnel
urlpatterns += [path("", include("web.funnel_pages"))]

# Room: what converts (issue 19, part 5)
urlpatterns += [path("", include("web.conversion_pages"))]

# Room: plans
urlpatterns += [path("", include("web.plans_pages"))]

# Room: board pack
urlpatterns += [path("", include("web.board_pack"))]
