"""WSGI entry point, for deployments that serve HTTP only (websocket capture then falls back to HTTP POST)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reactionsite.settings")
application = get_wsgi_application()
