"""Copy-paste code that sends a source's calls to this server, for the tracking
libraries whose option names were checked against their documentation:
Segment's analytics.js (analytics-next), RudderStack's JavaScript SDK (v3),
Segment's Python library and curl. Pure text: the template escapes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

# Shown instead of the key once it has been displayed: it is never stored.
KEY_PLACEHOLDER = "YOUR_WRITE_KEY"
# The example call every snippet sends (a track call: no identify needed).
EXAMPLE_USER_ID = "user-1"
EXAMPLE_EVENT = "Demo Requested"
EXAMPLE_PROPERTIES = {"plan": "pro"}


@dataclass(frozen=True)
class Snippet:
    slug: str
    title: str
    language: str
    code: str
    note: str


def _js(value: object) -> str:
    """A JavaScript (and Python) literal: JSON."""
    return json.dumps(value, ensure_ascii=False)


def curl_body() -> dict[str, object]:
    return {"userId": EXAMPLE_USER_ID, "event": EXAMPLE_EVENT, "properties": EXAMPLE_PROPERTIES}


def snippets(*, base_url: str, write_key: str | None, source_name: str) -> list[Snippet]:
    """The snippets for a server at `base_url` (scheme://host[:port], no slash at
    the end); `write_key` None puts a placeholder where the key goes."""
    key = write_key or KEY_PLACEHOLDER
    parts = urlsplit(base_url)
    # analytics.js takes the host without its scheme and posts to
    # `${protocol}://${apiHost}/<call>`.
    api_host = f"{parts.netloc}{parts.path.rstrip('/')}/v1"
    protocol = parts.scheme or "https"
    segment = f"""// npm install @segment/analytics-next
import {{ AnalyticsBrowser }} from "@segment/analytics-next";

// The Segment.io settings are given here, so nothing is asked of Segment's
// CDN; apiHost sends every call to this server instead of api.segment.io.
const segmentio = {{ apiKey: {_js(key)}, apiHost: {_js(api_host)}, protocol: {_js(protocol)} }};
export const analytics = AnalyticsBrowser.load(
  {{ writeKey: {_js(key)}, cdnSettings: {{ integrations: {{ "Segment.io": segmentio }} }} }},
  {{ integrations: {{ "Segment.io": {{ apiHost: {_js(api_host)}, protocol: {_js(protocol)} }} }} }},
);

analytics.page();
analytics.track({_js(EXAMPLE_EVENT)}, {_js(EXAMPLE_PROPERTIES)});"""
    rudderstack = f"""// npm install @rudderstack/analytics-js
import {{ RudderAnalytics }} from "@rudderstack/analytics-js";

const rudderanalytics = new RudderAnalytics();
// The data plane is this server. It has no RudderStack control plane, so the
// source's settings are given here (getSourceConfig) instead of fetched.
rudderanalytics.load({_js(key)}, {_js(base_url)}, {{
  getSourceConfig: () => ({{
    source: {{
      id: "engage", name: {_js(source_name)}, writeKey: {_js(key)},
      enabled: true, workspaceId: "engage", config: {{}}, destinations: [],
    }},
  }}),
}});

rudderanalytics.page();
rudderanalytics.track({_js(EXAMPLE_EVENT)}, {_js(EXAMPLE_PROPERTIES)});"""
    python = f"""# pip install segment-analytics-python
import segment.analytics as analytics

analytics.write_key = {_js(key)}
analytics.host = {_js(base_url)}

analytics.track({_js(EXAMPLE_USER_ID)}, {_js(EXAMPLE_EVENT)}, {_js(EXAMPLE_PROPERTIES)})
analytics.flush()  # before a short script exits: calls are sent in batches"""
    curl = f"""curl -X POST '{base_url}/v1/track' \\
  -u '{key}:' \\
  -H 'Content-Type: application/json' \\
  -d '{json.dumps(curl_body())}'"""
    return [
        Snippet(
            "analytics-js",
            "Segment analytics.js",
            "JavaScript",
            segment,
            "In a web page or app bundle. A site already using Segment's snippet "
            "changes its load call's options the same way.",
        ),
        Snippet(
            "rudderstack",
            "RudderStack JavaScript SDK",
            "JavaScript",
            rudderstack,
            "rudderanalytics.load(writeKey, dataPlaneUrl): the data plane URL is this server.",
        ),
        Snippet(
            "python",
            "Python (Segment's analytics-python)",
            "Python",
            python,
            "On a server: the library batches calls to /v1/batch.",
        ),
        Snippet(
            "curl",
            "curl",
            "shell",
            curl,
            "One track call, the write key as the HTTP Basic user name with an empty password.",
        ),
    ]
