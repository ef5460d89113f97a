"""`runserver` that ends its start-up output with the address and the demo logins.

`make run` migrates, collects static files and seeds the demo before it serves;
without this, the logins the seed printed scroll away under the server's own
banner. Django calls `on_bind` once the socket listens (after its banner), so
what is printed here is the last thing a new user sees. It extends the
staticfiles runserver, which serves static files under DEBUG; `demo` is listed
before django.contrib.staticfiles in INSTALLED_APPS so that this command wins.
"""

from __future__ import annotations

from django.contrib.staticfiles.management.commands.runserver import (
    Command as StaticfilesRunserverCommand,
)
from django.db import DatabaseError, connection

from demo.selectors import demo_logins_existing


class Command(StaticfilesRunserverCommand):
    # Set by Django's runserver before it binds (undeclared in django-stubs).
    addr: str
    protocol: str
    _raw_ipv6: bool

    def on_bind(self, server_port: int) -> None:
        super().on_bind(server_port)
        # As Django's banner writes it.
        address = "0.0.0.0" if self.addr == "0" else self.addr  # noqa: S104  # nosec B104
        if self._raw_ipv6:
            address = f"[{self.addr}]"
        try:
            logins = demo_logins_existing()
        except DatabaseError:  # not migrated yet: Django has said so above
            logins = ()
        connection.close()  # the server thread's connection; requests open their own
        lines = ["", f"Engage is ready: open {self.protocol}://{address}:{server_port}/"]
        if logins:
            lines.append("Demo logins (username / password, role):")
            width = max(len(login.username) for login in logins)
            lines += [
                f"  {login.username:<{width}} / {login.password:<15} {login.role}"
                for login in logins
            ]
        self.stdout.write("\n".join(lines))
