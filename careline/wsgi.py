import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careline.settings")
django_application = get_wsgi_application()

# Imported once Django is set up: it reads the models. Heartbeat pings are answered in front
# of Django's request handling; every other request goes to Django.
from careline.core.startup import freeze_start_up  # noqa: E402
from careline.monitoring.pings import HeartbeatIntake  # noqa: E402

application = HeartbeatIntake(django_application)

# What the worker made while starting is set aside from the garbage collector (its full
# collections were most of the queue's p99).
freeze_start_up()
