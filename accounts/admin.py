from typing import Any

from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest
from rest_framework.authtoken.models import TokenProxy

from accounts.models import Account, ApiToken, Contact, ICPSegment, JunkRule, Opportunity
from accounts.tasks import segment_refresh_task
from core.admin_dates import CalendarEndDateHierarchy


class ContactInline(admin.TabularInline):
    model = Contact
    fields = ["email", "first_name", "last_name", "title", "seniority", "buying_role", "is_junk"]
    extra = 0
    show_change_link = True


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "domain",
        "industry",
        "employees",
        "tier",
        "is_target",
        "is_customer",
        "owner",
    ]
    list_filter = ["tier", "is_target", "is_customer", "industry", "country"]
    search_fields = ["name", "domain", "external_id"]
    list_select_related = ["owner"]
    raw_id_fields = ["parent"]
    autocomplete_fields = ["owner"]
    inlines = [ContactInline]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "first_name",
        "last_name",
        "title",
        "seniority",
        "buying_role",
        "account",
        "is_junk",
    ]
    list_filter = ["seniority", "buying_role", "job_function", "is_junk", "junk_reviewed"]
    search_fields = ["email", "first_name", "last_name", "external_id"]
    list_select_related = ["account"]
    raw_id_fields = ["account"]


@admin.register(ICPSegment)
class ICPSegmentAdmin(admin.ModelAdmin):
    list_display = ["name", "is_active", "updated_at"]
    search_fields = ["name"]

    def save_model(self, request: HttpRequest, obj: ICPSegment, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # New criteria: members and fit follow once the change is committed.
        transaction.on_commit(lambda: segment_refresh_task.delay(obj.pk))


@admin.register(Opportunity)
class OpportunityAdmin(CalendarEndDateHierarchy):
    list_display = [
        "name",
        "account",
        "amount",
        "currency",
        "status",
        "crm_stage",
        "opened_on",
        "close_on",
        "source",
    ]
    # "Account: Empty" lists the deals the CRM has not assigned to an account yet.
    list_filter = ["status", "source", "product_line", ("account", admin.EmptyFieldListFilter)]
    search_fields = ["name", "external_id", "account__name"]
    list_select_related = ["account"]
    raw_id_fields = ["account"]
    date_hierarchy = "opened_on"


@admin.register(JunkRule)
class JunkRuleAdmin(admin.ModelAdmin):
    list_display = ["kind", "value", "created_at"]
    list_filter = ["kind"]
    search_fields = ["value"]


# API tokens: listed and revoked here; made with `manage.py api_token_create`,
# which shows the key once. DRF's plain-text token admin is not used.
@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "name", "created_at"]
    readonly_fields = ["user", "name", "prefix", "key_hash", "created_at"]
    search_fields = ["user__username", "name", "prefix"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)
