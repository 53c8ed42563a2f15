"""The REST gateway: an ASGI app that turns HTTP/JSON (and the guide's WebSocket) into gRPC calls."""
