"""ASGI entry point: HTTP through Django, websockets through Channels."""

import os
import threading

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reactionsite.settings")
# Django must be set up before anything imports models, so the consumers come after this line.
django_asgi_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from screenings.capture.routing import websocket_urlpatterns  # noqa: E402


def _load_emotion_model() -> None:
    from inference import get_predictor

    get_predictor()


# Load the network in the background at start-up (PRELOAD_EMOTION_MODEL, on by default), so the
# first participant's first frame does not wait seconds for the model.
if settings.SERVING.preload:
    threading.Thread(target=_load_emotion_model, name="load-emotion-model", daemon=True).start()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_application,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
