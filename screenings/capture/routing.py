from django.urls import path

from screenings.capture import consumers

websocket_urlpatterns = [
    path("ws/capture/<str:token>/", consumers.CaptureConsumer.as_asgi()),
    path("ws/live/<int:screening_id>/", consumers.LiveViewConsumer.as_asgi()),
]
