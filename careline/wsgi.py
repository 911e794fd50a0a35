import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careline.settings")
django_application = get_wsgi_application()

# Imported once Django is set up: it reads the models. Heartbeat pings are answered in front
# of Django's request handling; every other request goes to Django.
from careline.monitoring.pings import HeartbeatIntake  # noqa: E402

application = HeartbeatIntake(django_application)

# Everything made while starting (Django, the models, the schemas: some 220,000 objects) lives
# as long as the worker. Frozen, the collector stops walking it: a full collection, which a
# busy worker runs every few seconds with every request it holds waiting, took 90-150 ms and
# now takes about 1 ms (it was most of the queue's p99).
gc.freeze()
