"""CSV import kinds owned by accounts: accounts, contacts, opportunities.

Columns are recognised by their HubSpot and Salesforce export names; `prepare_*`
validate rows and resolve references with a fixed number of reads (no query
per row) and add every problem to its row. The writes are in services.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.db.models.functions import Lower

from accounts.junk import is_personal_domain, junk_reason
from accounts.merge import contact_account
from accounts.models import Account, BuyingRole, Contact, JobFunction, Opportunity, Seniority
from accounts.normalise import email_domain, normalise_domain, normalise_email
from accounts.selectors import junk_rules
from accounts.traits import country_code, seniority_from_title
from core import csvimport
from core.bulk import LOOKUP_CHUNK, chunks
from core.csvimport import Column, ParsedRow, RowError


def _domain(value: str) -> str | None:
    return normalise_domain(value)


def _email(value: str) -> str | None:
    return normalise_email(value)


def _tier(value: str) -> int:
    number = csvimport.whole_number(value.lower().removeprefix("tier").strip())
    if not 1 <= number <= 3:
        raise ValueError("must be 1, 2 or 3")
    return number


_OWNER_ALIASES = ("owner", "account_owner", "company_owner", "contact_owner", "deal_owner")

ACCOUNT_COLUMNS = (
    Column("name", csvimport.text(255), required=True,
           aliases=("company_name", "account_name", "company", "organization", "organisation")),
    Column("domain", _domain, aliases=("company_domain_name", "company_domain", "website",
                                       "website_url", "web_site", "url")),
    Column("external_id", csvimport.text(100),
           aliases=("record_id", "account_id", "company_id", "crm_id", "id")),
    Column("industry", csvimport.text(100), aliases=("industry_type", "sector")),
    Column("employees", csvimport.whole_number,
           aliases=("number_of_employees", "employee_count", "numberofemployees", "headcount")),
    Column("annual_revenue", csvimport.decimal_amount, aliases=("revenue", "annualrevenue")),
    Column("country", country_code,
           aliases=("country_region", "billing_country", "billingcountry")),
    Column("tier", _tier, aliases=("account_tier", "abm_tier")),
    Column("is_target", csvimport.boolean, aliases=("target", "target_account", "abm_target")),
    Column("is_customer", csvimport.boolean, aliases=("customer", "is_a_customer")),
    Column("owner", csvimport.text(254), aliases=_OWNER_ALIASES),
)  # fmt: skip

CONTACT_COLUMNS = (
    Column("email", _email, required=True, aliases=("email_address", "e_mail", "work_email")),
    Column("external_id", csvimport.text(100), aliases=("record_id", "contact_id", "id")),
    Column("first_name", csvimport.text(100), aliases=("firstname", "given_name")),
    Column("last_name", csvimport.text(100), aliases=("lastname", "surname", "family_name")),
    Column("title", csvimport.text(200), aliases=("job_title", "jobtitle")),
    Column("seniority", csvimport.choice(Seniority.values, {"c-level": "c_level", "c-suite":
           "c_level", "executive": "c_level", "vice president": "vp", "head": "vp"})),
    Column("job_function", csvimport.choice(JobFunction.values, {"information technology": "it",
           "human resources": "hr"}), aliases=("department", "function")),
    Column("buying_role", csvimport.choice(BuyingRole.values), aliases=("role", "buyer_role")),
    Column("country", country_code,
           aliases=("country_region", "mailing_country", "mailingcountry")),
    Column("account_external_id", csvimport.text(100),
           aliases=("associated_company_id", "company_id", "account_id")),
    Column("account_domain", _domain,
           aliases=("company_domain_name", "company_domain", "website", "company_website")),
    Column("account_name", csvimport.text(255),
           aliases=("associated_company", "company_name", "company", "account")),
)  # fmt: skip


def lookup_chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    return list(chunks(items, LOOKUP_CHUNK))


def _account_refs(rows: Sequence[ParsedRow]) -> dict[tuple[str, Any], int | None]:
    """(how, value) -> account id for the account references in rows; None when
    ambiguous. Three reads whatever the number of rows."""
    external_ids = {r.values.get("account_external_id") for r in rows} - {None}
    domains = {r.values.get("account_domain") for r in rows} - {None}
    names = {str(v).lower() for r in rows if (v := r.values.get("account_name"))}
    found: dict[tuple[str, Any], int | None] = {}
    for chunk in lookup_chunks(sorted(external_ids)):
        for external_id, pk in Account.objects.filter(external_id__in=chunk).values_list(
            "external_id", "id"
        ):
            found[("external_id", external_id)] = pk
    for chunk in lookup_chunks(sorted(domains)):
        for domain, pk in Account.objects.filter(domain__in=chunk).values_list("domain", "id"):
            found[("domain", domain)] = pk
    for chunk in lookup_chunks(sorted(names)):
        for name, pk in (
            Account.objects.annotate(lower_name=Lower("name"))
            .filter(lower_name__in=chunk)
            .values_list("lower_name", "id")
        ):
            key = ("name", name)
            found[key] = None if key in found else pk  # two accounts, one name: ambiguous
    return found


def _resolve_account(row: ParsedRow, refs: Mapping[tuple[str, Any], int | None]) -> int | None:
    """The account a row names by external id, domain or name, in that order;
    None when it names none. Naming one that is not found (or is ambiguous)
    is an error of that row: accounts are never created from another kind's file."""
    for how, column in (("external_id", "account_external_id"), ("domain", "account_domain"),
                        ("name", "account_name")):  # fmt: skip
        value = row.values.get(column)
        if value is None:
            continue
        key = (how, value.lower() if how == "name" else value)
        if key not in refs:
            row.errors.append(RowError(row.row, column, str(value), f"no account with this {how}"))
            return None
        pk = refs[key]
        if pk is None:
            row.errors.append(
                RowError(row.row, column, str(value), "more than one account has this name")
            )
        return pk
    return None


def _owners(rows: Sequence[ParsedRow]) -> dict[str, int]:
    wanted = {str(v).lower() for r in rows if (v := r.values.get("owner"))}
    if not wanted:
        return {}
    users = (
        get_user_model()
        .objects.filter(Q(username__in=wanted) | Q(email__in=wanted))
        .values_list("username", "email", "id")
    )
    found: dict[str, int] = {}
    for username, email, pk in users:
        found[username.lower()] = pk
        if email:
            found[email.lower()] = pk
    return found


def prepare_accounts(rows: Sequence[ParsedRow]) -> list[tuple[ParsedRow, dict[str, Any]]]:
    owners = _owners(rows)
    prepared = []
    for row in rows:
        values = dict(row.values)
        owner = values.pop("owner")
        if owner is not None:
            values["owner_id"] = owners.get(owner.lower())
            if values["owner_id"] is None:
                row.errors.append(
                    RowError(row.row, "owner", owner, "no user with this username or email")
                )
        prepared.append((row, values))
    csvimport.duplicate_keys_flag(
        ((row, v["domain"] or (v["name"] or "").lower() or None) for row, v in prepared),
        column="domain",
        what="account",
    )
    _external_ids_check(
        [(r, v) for r, v in prepared if v["domain"]], model=Account, key="domain", what="account"
    )
    _external_ids_check(
        [(r, v) for r, v in prepared if not v["domain"]], model=Account, key="name",
        what="account", scope=Q(domain__isnull=True),
    )  # fmt: skip
    return [(row, v) for row, v in prepared if not row.errors]


def _external_ids_check(
    prepared: Sequence[tuple[ParsedRow, dict[str, Any]]],
    *,
    model: type[Account] | type[Contact],
    key: str,
    what: str,
    scope: Q | None = None,
) -> None:
    """A CRM id is unique: two rows giving one, or a row giving the id of
    another stored record than the one it updates (matched by `key`), is an
    error of that row, not a database error that fails the whole import
    (issue 18). A stored record keeps an id it has (accounts.merge), so only
    a new record or one without an id takes the row's."""
    csvimport.duplicate_keys_flag(
        ((row, v.get("external_id")) for row, v in prepared),
        column="external_id",
        what=f"{what} id",
    )
    wanted = sorted(
        {v["external_id"] for row, v in prepared if v.get("external_id") and not row.errors}
    )
    holders: dict[str, tuple[int, str]] = {}
    for chunk in lookup_chunks(wanted):
        for external_id, pk, label in model.objects.filter(external_id__in=chunk).values_list(
            "external_id", "pk", key
        ):
            holders[external_id] = (pk, str(label or f"id {pk}"))
    keys = sorted({v[key] for row, v in prepared if v.get("external_id") in holders})
    targets: dict[Any, tuple[int, str | None]] = {}
    for chunk in lookup_chunks(keys):
        stored = model.objects.filter(scope or Q(), **{f"{key}__in": chunk})
        targets.update((k, (pk, x)) for k, pk, x in stored.values_list(key, "pk", "external_id"))
    for row, values in prepared:
        held = holders.get(values.get("external_id") or "")
        if held is None or row.errors:
            continue
        target = targets.get(values[key])
        if target is not None and (target[0] == held[0] or target[1]):
            continue  # the same record, or one that keeps its own id
        row.errors.append(
            RowError(row.row, "external_id", values["external_id"],
                     f"is already the id of another {what} ({held[1]})")
        )  # fmt: skip


def prepare_contacts(rows: Sequence[ParsedRow]) -> list[tuple[ParsedRow, dict[str, Any]]]:
    refs = _account_refs(rows)
    # Contacts whose account is not named keep theirs, or go to the account of
    # their email domain (accounts.merge.contact_account).
    email_domains = {email_domain(e) for r in rows if (e := r.values.get("email"))}
    by_domain = dict(
        Account.objects.filter(
            domain__in=[d for d in email_domains if not is_personal_domain(d)]
        ).values_list("domain", "id")
    )
    rules = junk_rules()
    stored: dict[str, tuple[bool, int | None]] = {
        email: (reviewed, account_id)
        for email, reviewed, account_id in Contact.objects.filter(
            email__in=[r.values["email"] for r in rows if r.values.get("email")]
        ).values_list("email", "junk_reviewed", "account_id")
        if email
    }
    prepared = []
    for row in rows:
        values = dict(row.values)
        account_id = _resolve_account(row, refs)
        for column in ("account_external_id", "account_domain", "account_name"):
            values.pop(column)
        email = values["email"]
        if email is None:
            continue
        values["email_domain"] = email_domain(email)
        reviewed, stored_account_id = stored.get(email, (False, None))
        values["account_id"] = contact_account(
            stored=stored_account_id,
            named=account_id,
            of_email_domain=by_domain.get(values["email_domain"]),
        )
        if values["seniority"] is None and values["title"]:
            values["seniority"] = seniority_from_title(values["title"])
        if not reviewed:
            reason = junk_reason(
                email=email,
                has_account=values["account_id"] is not None,
                country=values["country"] or "",
                title=values["title"] or "",
                rules=rules,
            )
            values["is_junk"], values["junk_reason"] = bool(reason), reason
        prepared.append((row, values))
    csvimport.duplicate_keys_flag(((r, v["email"]) for r, v in prepared), column="email",
                                  what="email")  # fmt: skip
    _external_ids_check(prepared, model=Contact, key="email", what="contact")
    return [(row, v) for row, v in prepared if not row.errors]


OPPORTUNITY_COLUMNS = (
    Column("external_id", csvimport.text(100), required=True,
           aliases=("record_id", "opportunity_id", "deal_id", "id")),
    # Optional: a file without deal names gets `opportunity_default_name`.
    Column("name", csvimport.text(255), aliases=("deal_name", "opportunity_name")),
    Column("amount", csvimport.decimal_amount,
           aliases=("deal_amount", "amount_in_company_currency")),
    Column("currency", csvimport.text(3), aliases=("currency_code", "deal_currency_code",
                                                    "opportunity_currency")),
    Column("crm_stage", csvimport.text(100),
           aliases=("deal_stage", "stage", "stage_name", "stagename")),
    Column("opened_on", csvimport.date, required=True,
           aliases=("create_date", "created_date", "createddate", "created", "opened")),
    Column("close_on", csvimport.date, aliases=("close_date", "closedate", "closed")),
    Column("source", csvimport.text(100), aliases=("lead_source", "leadsource", "original_source",
                                                    "deal_source", "opportunity_source")),
    Column("product_line", csvimport.text(100), aliases=("product", "product_family")),
    Column("account_external_id", csvimport.text(100),
           aliases=("associated_company_id", "account_id", "company_id")),
    Column("account_domain", _domain, aliases=("company_domain_name", "company_domain", "website")),
    Column("account_name", csvimport.text(255),
           aliases=("associated_company", "account_name", "company_name", "company", "account")),
)  # fmt: skip

DEFAULT_STAGE_STATUS = {"closed won": "won", "won": "won", "closed lost": "lost", "lost": "lost"}

_SOURCE_BY_WORD = (
    ("partner", "partner"),
    ("referral", "partner"),
    ("reseller", "partner"),
    ("sales", "sales"),
    ("outbound", "sales"),
    ("sdr", "sales"),
    ("marketing", "marketing"),
    ("web", "marketing"),
    ("inbound", "marketing"),
    ("campaign", "marketing"),
    ("event", "marketing"),
    ("webinar", "marketing"),
    ("advertis", "marketing"),
    ("paid", "marketing"),
    ("organic", "marketing"),
    ("content", "marketing"),
)


def opportunity_source(value: str | None) -> str:
    """CRM lead sources vary; fold them into marketing, sales, partner or other."""
    lowered = (value or "").lower()
    return next((source for word, source in _SOURCE_BY_WORD if word in lowered), "other")


def opportunity_default_name(values: Mapping[str, Any]) -> str:
    """The name of a deal whose file gives none: "<account> - <product line>"
    with the account as the row names it (name, else domain, else CRM id), or
    the deal's external id when the row has no product line."""
    account = next((str(values[c]) for c in ("account_name", "account_domain",
                    "account_external_id") if values.get(c)), "")  # fmt: skip
    if account and values.get("product_line"):
        return f"{account} - {values['product_line']}"[:255]
    return str(values.get("external_id") or "")


def prepare_opportunities(
    rows: Sequence[ParsedRow], *, stage_status: Mapping[str, str] | None = None
) -> list[tuple[ParsedRow, dict[str, Any]]]:
    statuses = {**DEFAULT_STAGE_STATUS, **{k.lower(): v for k, v in (stage_status or {}).items()}}
    refs = _account_refs(rows)
    # Stored deals keep their name when a row gives none (a blank cell keeps
    # the stored value); only new ones get the default name.
    unnamed = sorted({r.values["external_id"] for r in rows
                      if not r.values.get("name") and r.values.get("external_id")})  # fmt: skip
    stored_unnamed = {
        external_id
        for chunk in lookup_chunks(unnamed)
        for external_id in Opportunity.objects.filter(external_id__in=chunk).values_list(
            "external_id", flat=True
        )
    }
    prepared = []
    for row in rows:
        values = dict(row.values)
        if not values["name"] and values["external_id"] not in stored_unnamed:
            values["name"] = opportunity_default_name(values)  # new deal: named
        # A deal the CRM has not assigned yet is stored without an account; one
        # that names an account we cannot find is refused.
        values["account_id"] = _resolve_account(row, refs)
        for column in ("account_external_id", "account_domain", "account_name"):
            values.pop(column)
        stage = " ".join((values["crm_stage"] or "").lower().split())
        values["status"] = statuses.get(stage, "open")
        values["source"] = opportunity_source(values["source"])
        if values["currency"]:
            values["currency"] = values["currency"].upper()
        opened, closed = values["opened_on"], values["close_on"]
        if values["status"] != "open" and closed is None:
            row.errors.append(
                RowError(row.row, "close_on", "", f"a {values['status']} deal needs a close date")
            )
        if opened and closed and closed < opened:
            row.errors.append(
                RowError(row.row, "close_on", str(closed), f"is before the create date {opened}")
            )
        prepared.append((row, values))
    csvimport.duplicate_keys_flag(((r, v["external_id"]) for r, v in prepared),
                                  column="external_id", what="opportunity id")  # fmt: skip
    return [(row, v) for row, v in prepared if not row.errors]
