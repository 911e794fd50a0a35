import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careline.settings")
django_application = get_wsgi_application()

# Imported once Django is set up: it reads the models. Heartbeat pings are answered in front
# of Django's request handling; every other request goes to Django.
from careline.monitoring.pings import HeartbeatIntake  # noqa: E402

application = HeartbeatIntake(django_application)
