"""The ingest benchmark's workload: N deterministic events (a track/page mix from
a pool of known users and anonymous visitors, with IPs, campaigns and program
keys) in batches of 100, as the standard tracking clients send them; the same
seed gives byte-identical requests on every run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from tqdm import tqdm

USER_PREFIX = "bench-user-"
ANONYMOUS_PREFIX = "bench-anon-"
# The standard clients (analytics-python, analytics.js) flush 100 calls per request.
BATCH_SIZE = 100

# Fixed so that the same seed gives byte-identical requests on every run.
BASE_TIME = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
WINDOW_SECONDS = 90 * 86_400
LIBRARY = {"name": "analytics-python", "version": "2.4.0"}
SHARE_TRACK = 0.55
SHARE_IDENTIFIED = 0.7
TRACK_EVENTS: tuple[str, ...] = (
    "Email Opened",
    "Email Clicked",
    "Ad Viewed",
    "Ad Clicked",
    "Content Downloaded",
    "Form Submitted",
    "Webinar Registered",
    "Webinar Attended",
    "Demo Requested",
    "Pricing Viewed",
    "Button Clicked",
    "Video Played",
)
TRACK_WEIGHTS: tuple[int, ...] = (20, 8, 15, 5, 6, 3, 3, 2, 1, 2, 10, 5)
PAGE_PATHS: tuple[str, ...] = (
    "/",
    "/pricing",
    "/plans/enterprise",
    "/de/pricing",
    "/product",
    "/product/analytics",
    "/customers",
    "/blog/account-based-marketing-101",
    "/blog/buying-teams",
    "/docs/getting-started",
    "/docs/api",
    "/about",
)
PAGE_WEIGHTS: tuple[int, ...] = (20, 6, 2, 1, 10, 6, 4, 8, 6, 5, 4, 2)
PROGRAM_KEYS: tuple[str, ...] = tuple(f"fy25-program-{n:02d}" for n in range(40))
CAMPAIGN_SOURCES: tuple[str, ...] = ("linkedin", "google", "newsletter", "partner")
# Client networks: a few /8s, so addresses repeat across visitors of one company.
NETWORKS: tuple[int, ...] = (23, 52, 81, 91, 104, 145, 185, 203)


def _message_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _event(rng: random.Random, *, users: int, visitors: int) -> dict[str, Any]:
    """One call as analytics-python sends it."""
    context: dict[str, Any] = {
        "ip": f"{rng.choice(NETWORKS)}.{rng.randrange(256)}.{rng.randrange(256)}."
        f"{rng.randrange(1, 255)}",
        "library": LIBRARY,
    }
    if rng.random() < 0.25:
        context["campaign"] = {
            "name": rng.choice(PROGRAM_KEYS).upper(),
            "source": rng.choice(CAMPAIGN_SOURCES),
            "medium": "paid" if rng.random() < 0.5 else "email",
        }
    timestamp = BASE_TIME - dt.timedelta(seconds=rng.randrange(WINDOW_SECONDS))
    event: dict[str, Any] = {"messageId": _message_id(rng), "timestamp": timestamp.isoformat()}
    if rng.random() < SHARE_IDENTIFIED:
        # A few heavy users and a long tail, as on a real site.
        event["userId"] = f"{USER_PREFIX}{int(users * rng.random() ** 2):06d}"
        if rng.random() < 0.5:
            event["anonymousId"] = f"{ANONYMOUS_PREFIX}{rng.randrange(visitors):07d}"
    else:
        event["anonymousId"] = f"{ANONYMOUS_PREFIX}{rng.randrange(visitors):07d}"
    if rng.random() < SHARE_TRACK:
        name = rng.choices(TRACK_EVENTS, TRACK_WEIGHTS)[0]
        properties: dict[str, Any] = {"category": "engagement", "label": name.lower()}
        if name.startswith(("Webinar", "Content", "Form")) or rng.random() < 0.1:
            properties["program_key"] = rng.choice(PROGRAM_KEYS)
        if name == "Video Played":
            properties["seconds"] = rng.randrange(5, 900)
        event |= {"type": "track", "event": name, "properties": properties}
    else:
        path = rng.choices(PAGE_PATHS, PAGE_WEIGHTS)[0]
        event |= {
            "type": "page",
            "name": path.rsplit("/", 1)[-1].replace("-", " ").title() or "Home",
            "properties": {
                "path": path,
                "url": f"https://www.engage-demo.test{path}",
                "referrer": "https://www.google.com/" if rng.random() < 0.3 else "",
                "title": "Engage",
            },
        }
    event["context"] = context
    event["integrations"] = {}
    return event


@dataclass(frozen=True)
class Batch:
    body: bytes
    events: int


@dataclass(frozen=True)
class Workload:
    batches: Sequence[Batch]
    events: int
    users: int
    visitors: int
    # Order-free sum over the message ids sent; compared with what is stored.
    checksum: int


def message_ids_checksum(message_ids: Iterator[str] | Sequence[str]) -> int:
    """The sum of the first 60 bits of each id's MD5, which PostgreSQL computes too."""
    # A checksum, not security: usedforsecurity=False says so (and runs under FIPS).
    return sum(
        int(hashlib.md5(m.encode(), usedforsecurity=False).hexdigest()[:15], 16)
        for m in message_ids
    )


def workload_generate(*, events: int, seed: int, progress: bool = False) -> Workload:
    """N events in batches of 100, each batch drawn from its own seeded generator."""
    users = max(10, events // 50)
    visitors = max(10, events // 20)
    batches: list[Batch] = []
    checksum = 0
    sent_at = BASE_TIME.isoformat()
    with tqdm(
        total=events, unit="event", unit_scale=True, desc="generating", disable=not progress
    ) as bar:
        for index, start in enumerate(range(0, events, BATCH_SIZE)):
            rng = random.Random(f"ingest:{seed}:{index}")
            size = min(BATCH_SIZE, events - start)
            calls = [_event(rng, users=users, visitors=visitors) for _ in range(size)]
            checksum += message_ids_checksum([c["messageId"] for c in calls])
            batches.append(
                Batch(body=orjson.dumps({"batch": calls, "sentAt": sent_at}), events=size)
            )
            bar.update(size)
    return Workload(
        batches=batches, events=events, users=users, visitors=visitors, checksum=checksum
    )
