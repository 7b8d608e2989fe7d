"""Websocket routes of the screenings app (live capture arrives with the capture consumer)."""

websocket_urlpatterns: list = []
