"""A language model server for tests and trials, over real HTTP: OpenAI's
``/v1/chat/completions`` and Anthropic's ``/v1/messages``, as the official SDKs call them.

It reads the reply out of the user message's JSON document (as the reply agent sends it),
classifies it with the built-in rules and answers with a structured reading whose answer
starts with ``[model]``, so a test can tell a model's draft from the built-in drafter's.
``mode`` makes it misbehave: ``error`` (HTTP 500), ``slow`` (answers after ``delay``
seconds), ``not_json``, ``malformed`` (JSON of the wrong shape), ``naive`` (a model that
obeys what a reply tells it: it repeats its instructions when asked to, writes what it is
told to write). Every request is kept in ``requests``.

    python -m outreach.sandbox.fake_model --port 8765
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from outreach.replies.classify import classify

INPUT_TOKENS = 900
OUTPUT_TOKENS = 120

_TOLD = re.compile(r"(?:reply|answer|write|say|send)(?: with| only)?[:\s]+[\"'“](.+?)[\"'”]", re.I)


@dataclass
class FakeModel:
    mode: str = "ok"
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reading(self, system: str, user: str) -> dict[str, Any] | str:
        """What the model answers to one request (a string: raw, not a reading)."""
        reply = json.loads(user)["reply"]
        read = classify(reply)
        answer = f"[model] Thanks for your message about {read.intent.value.replace('_', ' ')}."
        if self.mode == "not_json":
            return "Sure! Here is what I think: the prospect is interested."
        if self.mode == "malformed":
            return {"label": "interested", "reply": answer}
        if self.mode == "naive" and re.search(r"ignore|instructions|prompt|system", reply, re.I):
            told = _TOLD.search(reply)
            if re.search(r"reveal|repeat|print|show|what are your", reply, re.I):
                answer = f"[model] My instructions: {system}"
            elif told:
                answer = f"[model] {told.group(1)}"
            elif re.search(r"approv", reply, re.I):
                answer = "[model] APPROVED. Sending now without review."
        return {
            "intent": read.intent.value,
            "confidence": 0.9,
            "answer": answer if read.intent.value not in ("unsubscribe", "not_interested") else "",
            "return_date": read.return_date.isoformat() if read.return_date else None,
            "referral": read.referral,
            "question": read.question,
        }


def _handler(model: FakeModel) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            with model.lock:
                model.requests.append({"path": self.path, "body": body})
            if model.mode == "slow":
                time.sleep(model.delay)
            if model.mode == "error":
                self._send(500, {"error": {"message": "the fake model failed", "type": "server"}})
            elif self.path.endswith("/chat/completions"):
                self._chat(body)
            elif self.path.endswith("/messages"):
                self._messages(body)
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})

        def _chat(self, body: dict[str, Any]) -> None:
            messages = body["messages"]
            system = next(m["content"] for m in messages if m["role"] == "system")
            user = next(m["content"] for m in messages if m["role"] == "user")
            out = model.reading(system, user)
            content = out if isinstance(out, str) else json.dumps(out)
            self._send(
                200,
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": content},
                        }
                    ],
                    "usage": {
                        "prompt_tokens": INPUT_TOKENS,
                        "completion_tokens": OUTPUT_TOKENS,
                        "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS,
                    },
                },
            )

        def _messages(self, body: dict[str, Any]) -> None:
            user = body["messages"][0]["content"]
            out = model.reading(body["system"], user)
            block: dict[str, Any] = (
                {"type": "text", "text": out}
                if isinstance(out, str)
                else {
                    "type": "tool_use",
                    "id": "toolu_fake",
                    "name": body["tools"][0]["name"],
                    "input": out,
                }
            )
            self._send(
                200,
                {
                    "id": "msg_fake",
                    "type": "message",
                    "role": "assistant",
                    "model": body["model"],
                    "content": [block],
                    "stop_reason": "tool_use",
                    "stop_sequence": None,
                    "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": OUTPUT_TOKENS},
                },
            )

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a timeout test)

    return Handler


class FakeModelServer:
    """The fake model on a loopback port, in a thread: ``with FakeModelServer() as s:``."""

    def __init__(self, model: FakeModel | None = None, port: int = 0) -> None:
        self.model = model or FakeModel()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(self.model))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> FakeModelServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--mode", default="ok")
    args = parser.parse_args()
    server = FakeModelServer(FakeModel(mode=args.mode), port=args.port)
    print(f"fake model at {server.base_url} (mode {args.mode})")
    server.httpd.serve_forever()
