import gc
import os

from django.core.wsgi import get_wsgi_application

from config.web_connections import web_connections_configure

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# Connections opened from here on are the web's: serial plans for the pages'
# small reads (config/web_connections.py).
web_connections_configure()

# Python's cyclic garbage collector, tuned for a web process (docs/benchmarks.md):
# - what is loaded by now (Django, the URL map, the models) lives as long as the
#   process; frozen, no collection walks it again;
# - a request allocates thousands of short-lived containers (a tracking batch of
#   100 calls parses into about a thousand dicts) that reference counting frees.
#   Collecting every 700 net allocations, the default, took about a sixth of a
#   tracking worker's time, mostly in full collections over the whole heap.
gc.freeze()
gc.set_threshold(50_000, 10, 10)
