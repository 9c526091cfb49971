"""A webhook receiver and an API client for the multi-process system test."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver(ThreadingHTTPServer):
    """A webhook endpoint that checks each signature and counts each event."""

    daemon_threads = True

    def __init__(self) -> None:
        self.secret = ""
        # Seconds each answer takes (a slow endpoint, so a kill lands mid-send).
        self.delay = 0.0
        self.received: Counter[str] = Counter()
        self.bad = 0
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self):  # noqa: N802 (http.server's naming)
        import stripe

        server: Receiver = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            stripe.WebhookSignature.verify_header(
                body, self.headers.get("Stripe-Signature"), server.secret, 300
            )
            event_id = json.loads(body)["id"]
        except (stripe.SignatureVerificationError, ValueError, KeyError):
            with server.lock:
                server.bad += 1
            self.send_response(400)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        time.sleep(server.delay)
        with server.lock:
            server.received[event_id] += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Api:
    """Form-encoded calls to the web processes, one keep-alive session per thread."""

    def __init__(self, address: tuple[str, int], secret: str) -> None:
        self.base = f"http://{address[0]}:{address[1]}"
        self.secret = secret
        self.local = threading.local()

    def post(self, path: str, data: dict) -> dict:
        import requests

        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
            session.headers["Authorization"] = f"Bearer {self.secret}"
        response = session.post(self.base + path, data=data, timeout=60)
        assert response.status_code == 200, response.text
        return response.json()

    def get(self, path: str) -> dict:
        import requests

        response = requests.get(
            self.base + path,
            headers={"Authorization": f"Bearer {self.secret}"},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        return response.json()
