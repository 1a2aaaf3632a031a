"""Real local receivers for notification tests: an SMTP server and an HTTP server that record
what they get. On 127.0.0.1, ephemeral ports, background threads; nothing leaves the machine."""

from __future__ import annotations

import json
import socketserver
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class _Inbox:
    mails: list[Mail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough RFC 5321 for a client that does not insist on TLS or AUTH."""

    server: _SmtpServer

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        self.reply("220 localhost test SMTP")
        sender, recipients = "", list[str]()
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            verb = raw.decode(errors="replace").strip()
            upper = verb.upper()
            if upper.startswith("EHLO"):
                self.reply("250-localhost")
                self.reply("250 8BITMIME")
            elif upper.startswith("HELO"):
                self.reply("250 localhost")
            elif upper.startswith("MAIL FROM:"):
                sender, recipients = verb[10:].strip(" <>"), []
                self.reply("250 OK")
            elif upper.startswith("RCPT TO:"):
                recipients.append(verb[8:].strip(" <>"))
                self.reply("250 OK")
            elif upper == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while (line := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                    lines.append(line[1:] if line.startswith(b"..") else line)
                with self.server.inbox.lock:
                    self.server.inbox.mails.append(Mail(sender, recipients, b"".join(lines)))
                self.reply("250 OK queued")
            elif upper in ("RSET", "NOOP"):
                self.reply("250 OK")
            elif upper == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Command not implemented")


class _SmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    inbox: _Inbox


class SmtpReceiver:
    """`with SmtpReceiver() as smtp: ... smtp.port ... smtp.mails`"""

    def __init__(self) -> None:
        self._server = _SmtpServer(("127.0.0.1", 0), _SmtpHandler)
        self._server.inbox = _Inbox()
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def mails(self) -> list[Mail]:
        with self._server.inbox.lock:
            return list(self._server.inbox.mails)

    def __enter__(self) -> SmtpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class _HttpHandler(BaseHTTPRequestHandler):
    server: _HttpServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        with self.server.lock:
            self.server.posts.append((self.path, dict(self.headers.items()), body))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    posts: list[tuple[str, dict[str, str], bytes]]
    lock: threading.Lock
    status: int


class HttpReceiver:
    """Records every POST; answers `status` (200 unless changed)."""

    def __init__(self) -> None:
        self._server = _HttpServer(("127.0.0.1", 0), _HttpHandler)
        self._server.posts = []
        self._server.lock = threading.Lock()
        self._server.status = 200
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def answer(self, status: int) -> None:
        self._server.status = status

    def json_posts(self) -> list[tuple[str, dict[str, Any]]]:
        with self._server.lock:
            return [(path, json.loads(body)) for path, _, body in self._server.posts]

    def __enter__(self) -> HttpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
