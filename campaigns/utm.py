"""A program's tracked link (UTM parameters), with no ORM.

`utm_campaign` carries the program's tracking key: the tracking libraries
read it from the landing page's URL into `context.campaign.name`, the tracker
stores it (trimmed, lower-cased) as the activity's tracking key, and the
touches match it to the program's key (campaigns/touches.py). The other
parameters only describe where the link was placed.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

# In the order they are appended; a destination's own value of one given is replaced.
UTM_PARAMETERS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")


class InvalidDestination(ValueError):
    """The destination is not an absolute http(s) address; the message says why."""


def utm_link(
    *,
    destination: str,
    tracking_key: str,
    source: str = "",
    medium: str = "",
    content: str = "",
    term: str = "",
) -> str:
    """`destination` with the UTM parameters added: `utm_campaign` is the
    tracking key; blank ones are left out (a destination's own value of
    a blank one stays). The destination's other query
    parameters keep their order and values, its fragment stays last, and every
    value is percent-encoded (a space as %20)."""
    parts = urlsplit(destination.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise InvalidDestination(
            "the destination must be a full web address starting with http:// or https://"
        )
    if not tracking_key.strip():
        raise ValueError("the program has no tracking key")
    values = {
        "utm_source": source,
        "utm_medium": medium,
        "utm_campaign": tracking_key,
        "utm_content": content,
        "utm_term": term,
    }
    added = [(name, values[name].strip()) for name in UTM_PARAMETERS if values[name].strip()]
    replaced = {name for name, _ in added}
    kept = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name.lower() not in replaced
    ]
    query = urlencode(kept + added, quote_via=quote)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, parts.fragment))
