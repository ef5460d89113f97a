from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import QuerySet
from django.views.generic import ListView

from accounts import selectors
from accounts.models import Account


class AccountListView(LoginRequiredMixin, ListView):
    template_name = "accounts/account_list.html"
    context_object_name = "accounts"
    paginate_by = 50

    def get_queryset(self) -> QuerySet[Account]:
        owner_id = self.request.user.pk if self.request.GET.get("mine") else None
        return selectors.account_list(
            search=self.request.GET.get("q", "").strip(), owner_id=owner_id
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["q"] = self.request.GET.get("q", "").strip()
        context["mine"] = bool(self.request.GET.get("mine"))
        return context
