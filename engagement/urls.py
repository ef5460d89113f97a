"""Segment-compatible tracking API at the site root: clients post to host +
"/v1/<call>", no trailing slash."""

from django.urls import path

from engagement.tracking_api import tracking_endpoint

urlpatterns = [
    path(f"v1/{kind}", tracking_endpoint(kind), name=f"tracking-{kind}")
    for kind in ("batch", "identify", "group", "track", "page", "screen", "alias")
]
