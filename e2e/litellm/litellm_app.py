"""An application that calls a model through litellm, traced as a Phoenix user
traces it: phoenix.otel.register(auto_instrument=True), which instruments both
litellm and openai (a litellm dependency), so that one call is recorded twice.

Run by litellm_test.go with the test virtual environment's python:

    python litellm_app.py LOUPE_URL PROJECT

The model is a fake OpenAI-compatible server this script starts on loopback:
it answers every chat completion with the same answer and a usage of 49
tokens (30 prompt, 19 completion), and every embedding with 8 tokens. The
script prints one JSON object: the usage litellm reported and the ids of the
two traces it made, one with the completion and one with the embedding.
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeOpenAI(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        self.rfile.read(length)
        if self.path.endswith("/embeddings"):
            answer = {
                "object": "list",
                "model": "text-embedding-3-small",
                "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]}],
                "usage": {"prompt_tokens": 8, "total_tokens": 8},
            }
        elif self.path.endswith("/chat/completions"):
            answer = {
                "id": "chatcmpl-loupe-e2e",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": "gpt-4o-mini-2024-07-18",
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": "Refunds are accepted within 30 days."},
                    }
                ],
                "usage": {"prompt_tokens": 30, "completion_tokens": 19, "total_tokens": 49},
            }
        else:
            self.send_error(404)
            return
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main() -> None:
    loupe, project = sys.argv[1], sys.argv[2]
    fake = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    api_base = f"http://127.0.0.1:{fake.server_address[1]}/v1"

    from phoenix.otel import register

    tracer_provider = register(
        project_name=project, endpoint=loupe + "/v1/traces", auto_instrument=True, batch=True, verbose=False
    )

    import litellm
    from openinference.instrumentation import using_attributes
    from opentelemetry import trace

    tracer = trace.get_tracer("litellm-e2e")
    with using_attributes(session_id="litellm-session", user_id="litellm-user"):
        with tracer.start_as_current_span("answer", attributes={"openinference.span.kind": "CHAIN"}) as root:
            answer_trace = format(root.get_span_context().trace_id, "032x")
            reply = litellm.completion(
                model="openai/gpt-4o-mini",
                api_base=api_base,
                api_key="x",
                messages=[{"role": "user", "content": "What is our refund policy?"}],
            )
        with tracer.start_as_current_span("index", attributes={"openinference.span.kind": "CHAIN"}) as root:
            index_trace = format(root.get_span_context().trace_id, "032x")
            embedded = litellm.embedding(
                model="openai/text-embedding-3-small", api_base=api_base, api_key="x", input=["refund policy"]
            )
    tracer_provider.force_flush()
    tracer_provider.shutdown()
    fake.shutdown()
    print(
        json.dumps(
            {
                "answer_trace": answer_trace,
                "index_trace": index_trace,
                "completion_tokens": reply.usage.total_tokens,
                "embedding_tokens": embedded.usage.total_tokens,
                "answer": reply.choices[0].message.content,
            }
        )
    )


if __name__ == "__main__":
    main()
