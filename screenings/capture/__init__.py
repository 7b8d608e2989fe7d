"""Live capture: the websocket and HTTP endpoints a participant's page sends frames to, and the protocol they share."""
