from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.AccountListView.as_view(), name="account-list"),
]
