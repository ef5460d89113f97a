"""Readiness served on the pages (issue 19, part 4): the account list's
Readiness column, its sort and filter and the CSV; the account page's
Readiness section (scored, fallback, not scored); readiness alerts in words.
Figures are the hand-written ones of tests/readiness/served_world.py and the
hand-made model of tests/readiness/hand_model.py."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from django.test import Client

from engagement.models import AlertKind
from readiness.models import ReadinessModelStatus
from readiness.services import readiness_scores_refresh
from tests.factories import AlertFactory, ICPSegmentFactory
from tests.readiness.hand_model import TODAY, World, hand_model
from tests.readiness.served_world import FALLBACK_REASON, ServedWorld, served_world

# The page writes ranges with an en dash and negative weights with a minus sign.
DASH, MINUS = "\u2013", "\u2212"

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(rep: Any) -> ServedWorld:
    return served_world(owner=rep)


def _text(html: str) -> str:
    """The page's text, tags removed and white space folded."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _listed(response: Any) -> list[str]:
    return [account.name for account in response.context["accounts"]]


def test_the_list_sorts_by_readiness_with_the_unknown_last(
    client: Client, rep: Any, world: ServedWorld
) -> None:
    client.force_login(rep)
    segment = world.segment.pk
    down = client.get(f"/accounts/?segment={segment}&sort=-readiness")
    up = client.get(f"/accounts/?segment={segment}&sort=readiness")
    assert _listed(down) == ["Alpha", "Bravo", "Charlie", "Delta"]
    assert _listed(up) == ["Bravo", "Alpha", "Charlie", "Delta"]
    html = down.content.decode()
    assert 'aria-sort="descending"' in html
    cells = re.findall(r'<td class="num" data-label="Readiness">(.*?)</td>', html, re.S)
    assert [_text(cell) for cell in cells] == [
        "62%",
        "30%",
        f"— fallback The segment falls back to the engagement score: {FALLBACK_REASON}",
        "— not scored Not scored yet: no readiness model has scored this account in the segment",
    ]
    assert f"similar backtest predictions: 50%{DASH}71% opened one" in cells[0]


def test_the_list_filters_by_readiness_at_least(
    client: Client, rep: Any, world: ServedWorld
) -> None:
    client.force_login(rep)
    segment = world.segment.pk
    assert _listed(client.get(f"/accounts/?segment={segment}&readiness_min=50")) == ["Alpha"]
    # At least 30%: Bravo's 0.30 is in; the unknown never are.
    assert _listed(client.get(f"/accounts/?segment={segment}&readiness_min=30")) == [
        "Alpha",
        "Bravo",
    ]
    # Each account's best segment without ?segment=: Fintech for all four.
    assert _listed(client.get("/accounts/?readiness_min=50")) == ["Alpha"]
    bad = client.get(f"/accounts/?segment={segment}&readiness_min=120")
    assert bad.status_code == 200
    assert "readiness_min" in bad.context["form"].errors
    assert len(_listed(bad)) == 4  # the invalid filter is ignored, and says so


def test_the_csv_holds_the_readiness_and_why_there_is_none(
    client: Client, rep: Any, world: ServedWorld
) -> None:
    client.force_login(rep)
    response = client.get(f"/accounts/export.csv?segment={world.segment.pk}&sort=-readiness")
    rows = list(csv.DictReader(io.StringIO(response.getvalue().decode())))
    fields = ("Account", "Readiness", "Readiness band low", "Readiness band high",
              "Readiness note")  # fmt: skip
    assert [tuple(row[f] for f in fields) for row in rows] == [
        ("Alpha", "0.62", "0.5", "0.71", ""),
        ("Bravo", "0.3", "0.22", "0.37", ""),
        ("Charlie", "", "", "", f"The segment falls back to the engagement score: "
                                f"{FALLBACK_REASON}"),
        ("Delta", "", "", "",
         "Not scored yet: no readiness model has scored this account in the segment"),
    ]  # fmt: skip


def test_the_list_with_readiness_keeps_its_query_count(
    client: Client, rep: Any, world: ServedWorld, django_assert_num_queries: Any
) -> None:
    client.force_login(rep)
    # As tests/web/test_account_list.py: readiness is annotated in the page's
    # rows (read by key after the page's keys, core.paging.KeysFirst); one
    # query more for a segment: whether its change baselines are today's.
    with django_assert_num_queries(12):
        client.get(f"/accounts/?segment={world.segment.pk}&sort=-readiness&readiness_min=10")


def test_the_account_page_explains_readiness_in_each_segment(client: Client, rep: Any) -> None:
    world = World()
    world.segment.name = "Fintech"
    world.segment.save()
    hand_model(world.segment)
    growth = ICPSegmentFactory.create(name="Growth")
    hand_model(growth, status=ReadinessModelStatus.FALLBACK, parameters={}, reason=FALLBACK_REASON)
    startups = ICPSegmentFactory.create(name="Startups")
    for segment in (growth, startups):
        world.warm.memberships.create(segment=segment, fit_score=10)
    readiness_scores_refresh(today=TODAY)
    client.force_login(rep)
    html = client.get(f"/accounts/{world.warm.pk}/").content.decode()
    section = html[html.index('<section class="readiness"') :]
    section = section[: section.index("</section>")]
    text = _text(section)
    # warm: z = -4 + 0.045 * 60 + 1.2 - 0.8 = -0.9; p = 1 / (1 + exp(1.8 + 0.5)) = 0.0911;
    # its backtest decile (predicted 0.05): 12 of 100 opened, Wilson 95% 7.0%-19.8%.
    assert "9% likely to open an opportunity within 90 days" in text
    assert f"7%{DASH}20% of 100 similar backtest predictions opened an opportunity" in text
    # Reasons: the terms of the calibrated log-odds, value as stored.
    assert "Engagement score 60 +5.40" in text
    assert "Requested a demo in 30 days yes +2.40" in text
    assert "What lowered it" in text
    assert f"What lowered it What Value Weight No tier yes {MINUS}1.60" in text
    assert "Readiness model v1, trained" in text
    assert "this model 0.81, the engagement score 0.74, the MQL rule 0.58" in text
    assert f"No readiness in this segment yet ({FALLBACK_REASON})." in text
    assert "The engagement score serves instead" in text
    assert "Not scored: no readiness model has been trained for this segment yet." in text


def test_an_unknown_value_reads_unknown(client: Client, rep: Any) -> None:
    world = World()
    hand_model(world.segment)
    readiness_scores_refresh(today=TODAY)
    client.force_login(rep)
    html = client.get(f"/accounts/{world.unknown.pk}/").content.decode()
    # No snapshot: the score is imputed (50), its value unknown: 2 * 0.045 * 50.
    assert "Engagement score unknown +4.50" in _text(html)


def test_a_readiness_alert_reads_as_one(client: Client, rep: Any, world: ServedWorld) -> None:
    AlertFactory.create(
        account=world.alpha, segment=world.segment, recipient=rep, kind=AlertKind.READINESS,
        score=None, probability=0.62, threshold_percent=50,
    )  # fmt: skip
    AlertFactory.create(account=world.alpha, segment=world.segment, recipient=rep, score=71)
    client.force_login(rep)
    inbox = _text(client.get("/my-accounts/").content.decode())
    assert "Alpha readiness rose to 62% in Fintech (threshold 50%)" in inbox
    assert "Alpha became qualified in Fintech at score 71" in inbox
    page = _text(client.get(f"/accounts/{world.alpha.pk}/").content.decode())
    assert "Readiness rose to 62% in Fintech (threshold 50%)" in page
    assert "Became qualified in Fintech at score 71" in page
