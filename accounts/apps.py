from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from django.contrib import admin
        from django.contrib.auth.signals import user_login_failed

        from accounts.login_forms import ThrottledAdminAuthenticationForm
        from accounts.login_throttle import on_login_failed

        admin.site.login_form = ThrottledAdminAuthenticationForm

        # Every failed sign-in is recorded, and the throttle counts them.
        user_login_failed.connect(on_login_failed, dispatch_uid="accounts.login_failure_record")
