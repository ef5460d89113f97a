from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.utils import timezone

from accounts.roles import EXECUTIVE, MARKETER, SALES
from tests.factories import (
    AccountEngagementFactory,
    AccountFactory,
    ContactFactory,
    EngagementSnapshotFactory,
    ICPSegmentFactory,
    OpportunityFactory,
    ScoringModelFactory,
    SegmentMembershipFactory,
    UserFactory,
)
from tests.web.browser import CHROMIUM_ARGS, WIDE, chromium_path, role_groups_restore


def _persona(username: str, role: str, first_name: str) -> Any:
    user = UserFactory.create(username=username, first_name=first_name, last_name="Persona")
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def rep(db: None) -> Any:
    """The sales persona (tests moved from tests/accounts name it `rep`)."""
    return _persona("rep", SALES, "Sam")


@pytest.fixture
def marketer(db: None) -> Any:
    return _persona("marketer", MARKETER, "Maya")


@pytest.fixture
def executive(db: None) -> Any:
    return _persona("executive", EXECUTIVE, "Eve")


@pytest.fixture
def scenario(rep: Any) -> dict[str, Any]:
    """Alpha: Fintech 70 qualified (60 a week ago, 75 a month ago), SaaS 20;
    Bravo: Fintech 45 engaged, no history; Charlie: in no segment."""
    today = timezone.now().date()
    fintech = ICPSegmentFactory.create(name="Fintech")
    saas = ICPSegmentFactory.create(name="SaaS")
    ScoringModelFactory.create(segment=fintech, required_roles=["decision_maker", "champion"])
    other = UserFactory.create(username="other", first_name="Olly", last_name="Other")
    alpha = AccountFactory.create(
        name="Alpha", domain="alpha.example", owner=rep, tier=1, is_target=True
    )
    bravo = AccountFactory.create(name="Bravo", domain="bravo.example", owner=other, tier=2)
    charlie = AccountFactory.create(name="Charlie", domain="charlie.example", owner=None, tier=3)
    SegmentMembershipFactory.create(segment=fintech, account=alpha, fit_score=90, fit_grade="A")
    SegmentMembershipFactory.create(segment=saas, account=alpha, fit_score=50, fit_grade="C")
    SegmentMembershipFactory.create(segment=fintech, account=bravo, fit_score=65, fit_grade="B")
    AccountEngagementFactory.create(
        account=alpha, segment=fintech, score=70, stage="qualified", engaged_contacts=3,
        roles_covered=["champion"],
    )  # fmt: skip
    AccountEngagementFactory.create(account=alpha, segment=saas, score=20, stage="aware")
    AccountEngagementFactory.create(
        account=bravo, segment=fintech, score=45, stage="engaged", engaged_contacts=1
    )
    EngagementSnapshotFactory.create(
        account=alpha, segment=fintech, day=today - dt.timedelta(days=7), score=60
    )
    EngagementSnapshotFactory.create(
        account=alpha, segment=fintech, day=today - dt.timedelta(days=30), score=75
    )
    OpportunityFactory.create(account=alpha)
    OpportunityFactory.create(account=alpha)
    ContactFactory.create(account=bravo, first_name="Dana", last_name="Decider",
                          email="dana@bravo.example")  # fmt: skip
    return {"fintech": fintech, "saas": saas, "alpha": alpha, "bravo": bravo, "charlie": charlie}


# --- Browser tests (marked `browser`): the live server, chromium, a page. ---


@pytest.fixture(autouse=True)
def role_groups(request: pytest.FixtureRequest) -> None:
    """Browser tests (marked `browser`, on a transactional database): the
    Marketer, Sales and Executive groups, whatever flushed them before, and
    tasks run eagerly. Listed first, it runs before the personas are made."""
    if request.node.get_closest_marker("browser") is None:
        return
    request.getfixturevalue("transactional_db")
    role_groups_restore()
    # Jobs a page starts run in the live server's thread, as `make run` does
    # (eager): a run with a broker configured has no worker for them here.
    request.getfixturevalue("eager_tasks")


@pytest.fixture
def browser() -> Iterator[Any]:
    """A browser per test: Playwright's sync API runs an event loop (in greenlets)
    in this thread, and while it runs Django's per-context connection is not the
    one the test database was set up on; started after the database fixtures and
    stopped before their teardown, it leaves them alone."""
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    # Django refuses ORM calls from a thread with a running event loop unless
    # told it is safe: the test's own calls are synchronous, so it is, for the
    # browser's lifetime only.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            yield launched
            launched.close()


@pytest.fixture
def personas(rep: Any, marketer: Any, executive: Any) -> dict[str, Any]:
    return {"rep": rep, "marketer": marketer, "executive": executive}


@pytest.fixture
def demo_data() -> None:
    """`make run`'s demo, smaller."""
    call_command("seed_demo", accounts=10, verbosity=0)


@pytest.fixture
def demo_data_held_out() -> None:
    """The demo with every campaign's holdout drawn to size. At 10 accounts a
    campaign has 2 or 3 targets, too few for the demo's sizing
    (demo.draws.demo_holdout_seed), so whether any holds an account out
    depended on the day (none on 3 December 2026); at 25 each has 4-8 targets
    and 2 held out, whatever the day."""
    call_command("seed_demo", accounts=25, verbosity=0)


# Tests list their data fixtures before `page`: the browser starts last, so
# that every database write happens before Playwright's event loop runs in
# this thread (rows written under it go through another connection object,
# which pytest-django neither sees nor closes).
@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": WIDE, "height": 900})
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    context.close()
