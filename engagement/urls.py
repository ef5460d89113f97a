"""Segment-compatible tracking API at the site root: clients post to host +
"/v1/<call>", no trailing slash."""

from django.urls import path

from engagement.tracking_api import tracking_endpoint

KINDS = ("batch", "identify", "group", "track", "page", "screen", "alias")

urlpatterns = [
    path(f"v1/{kind}", tracking_endpoint(kind), name=f"tracking-{kind}") for kind in KINDS
]
# analytics.js 2.0 posts each call to its apiHost + "/" + the call type's first
# letter (t, p, i, g, a, s) and a batch to "/b", as api.segment.io accepts.
urlpatterns += [
    path(f"v1/{kind[0]}", tracking_endpoint(kind), name=f"tracking-{kind}-short") for kind in KINDS
]
