"""A support bot traced the way the "Observability with Phoenix" tutorial
traces one: the plain OpenTelemetry SDK (TracerProvider, BatchSpanProcessor,
OTLPSpanExporter over HTTP) and hand-set OpenInference attributes, with
messages, answers and documents each one JSON string (json.dumps).

Run by pyotel_test.go with the test virtual environment's python:

    python tutorial_app.py BASE_URL PROJECT

It answers two questions with canned model replies (no network but Loupe),
then reads the spans back with arize-phoenix-client's SpanQuery, as a
Phoenix user exporting a DataFrame would, and prints one JSON object: the
trace and span ids it sent and what the DataFrame held.
"""

import json
import sys
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

QUESTION = "Can I get a refund 40 days after buying?"
ANSWER = "No: refunds are accepted within 30 days of purchase, with the receipt."
SHIPPING = "Do you ship to Canada?"
SHIPPING_ANSWER = "Yes, we ship to Canada; delivery takes 5 to 7 days."
DOCUMENTS = [
    {"id": "policy-7", "score": 0.92, "text": "Refunds are accepted within 30 days of purchase, with the receipt."},
    {"id": "policy-9", "score": 0.41, "text": "Gift cards cannot be refunded."},
]


def setup_tracing(base_url: str, project: str) -> TracerProvider:
    """The tutorial's stack/tracing.py: a provider, a batch processor and
    an OTLP/HTTP exporter, the project named in the resource."""
    provider = TracerProvider(
        resource=Resource.create({"service.name": "support-bot", "openinference.project.name": project})
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{base_url}/v1/traces")))
    trace.set_tracer_provider(provider)
    return provider


tracer = trace.get_tracer("support_bot.tracing")


@contextmanager
def llm_span(name: str, model: str, messages: list, **params):
    with tracer.start_as_current_span(name) as span:
        span.set_attribute("openinference.span.kind", "LLM")
        span.set_attribute("llm.model_name", model)
        span.set_attribute("llm.invocation_parameters", json.dumps(params))
        span.set_attribute("llm.input_messages", json.dumps(messages))
        yield span


def record_llm_output(span, message: dict, prompt_tokens: int, completion_tokens: int) -> None:
    span.set_attribute("llm.output_messages", json.dumps([message]))
    span.set_attribute("llm.token_count.prompt", prompt_tokens)
    span.set_attribute("llm.token_count.completion", completion_tokens)
    span.set_attribute("llm.token_count.total", prompt_tokens + completion_tokens)


@contextmanager
def retrieval_span(name: str, query: str):
    with tracer.start_as_current_span(name) as span:
        span.set_attribute("openinference.span.kind", "RETRIEVER")
        span.set_attribute("input.value", query)
        yield span


def record_retrieval_output(span, documents: list) -> None:
    span.set_attribute(
        "retrieval.documents",
        json.dumps([{"id": d["id"], "score": d["score"], "text": d["text"]} for d in documents]),
    )


def hex_id(n: int, width: int) -> str:
    return format(n, f"0{width}x")


def ids(span) -> dict:
    ctx = span.get_span_context()
    return {"trace_id": hex_id(ctx.trace_id, 32), "span_id": hex_id(ctx.span_id, 16)}


def support_agent() -> dict:
    """One agent run: the model asks for a tool, the policy search runs, the
    model answers from what it found."""
    sent = {}
    with tracer.start_as_current_span("support_agent") as root:
        root.set_attribute("openinference.span.kind", "AGENT")
        root.set_attribute("input.value", QUESTION)
        root.set_attribute("session.id", "conv-7")
        messages = [
            {"role": "system", "content": "You answer questions about the shop's policies. Cite the policy."},
            {"role": "user", "content": QUESTION},
        ]
        with llm_span("plan", "gpt-4o-mini", messages, temperature=0) as span:
            call = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "search_policy", "arguments": json.dumps({"query": "refund window"})},
                    }
                ],
            }
            record_llm_output(span, call, 61, 18)
            sent["plan"] = ids(span)
        with retrieval_span("search_policy", "refund window") as span:
            span.set_attribute("retrieval.top_k", 2)
            record_retrieval_output(span, DOCUMENTS)
            sent["search_policy"] = ids(span)
        messages += [
            call,
            {"role": "tool", "tool_call_id": "call_1", "name": "search_policy", "content": DOCUMENTS[0]["text"]},
        ]
        with llm_span("answer", "gpt-4o-mini", messages, temperature=0) as span:
            span.set_attribute("llm.prompt_template.template", "Answer {question} from {policy}.")
            span.set_attribute(
                "llm.prompt_template.variables", json.dumps({"question": QUESTION, "policy": DOCUMENTS[0]["id"]})
            )
            record_llm_output(span, {"role": "assistant", "content": ANSWER}, 112, 21)
            sent["answer"] = ids(span)
        root.set_attribute("output.value", ANSWER)
        root.set_attribute("agent.stop_reason", "final_answer")
        root.set_attribute("agent.iterations", 2)
        sent["support_agent"] = ids(root)
    return sent


def quick_answer() -> dict:
    """A model call on its own, the root of its trace, with the request
    recorded as input.value the way instrumentations record it."""
    messages = [{"role": "user", "content": SHIPPING}]
    with llm_span("chat", "gpt-4o-mini", messages, max_tokens=256) as span:
        request = {"max_tokens": 256, "messages": messages, "model": "gpt-4o-mini"}
        span.set_attribute("input.value", json.dumps(request))
        span.set_attribute("input.mime_type", "application/json")
        record_llm_output(span, {"role": "assistant", "content": SHIPPING_ANSWER}, 14, 15)
        return {"chat": ids(span)}


def read_back(base_url: str, project: str) -> dict:
    """What a Phoenix user exporting the spans as a DataFrame gets."""
    from phoenix.client import Client
    from phoenix.client.types.spans import SpanQuery

    client = Client(base_url=base_url)
    llm = client.spans.get_spans_dataframe(query=SpanQuery().where("span_kind == 'LLM'"), project_identifier=project)
    out = {"llm_messages": {}, "documents": []}
    for _, row in llm.iterrows():
        msgs = row["attributes.llm.input_messages"]
        out["llm_messages"][row["name"]] = [
            {k: v for k, v in m.items() if isinstance(v, (str, int, float))} for m in msgs
        ]
    docs = client.spans.get_spans_dataframe(
        query=SpanQuery().where("span_kind == 'RETRIEVER'").explode(
            "retrieval.documents", reference="document.content", score="document.score", id="document.id"
        ),
        project_identifier=project,
    )
    for _, row in docs.iterrows():
        out["documents"].append({"id": row["id"], "score": float(row["score"]), "reference": row["reference"]})
    return out


def main() -> None:
    base_url, project = sys.argv[1], sys.argv[2]
    provider = setup_tracing(base_url, project)
    sent = support_agent()
    sent.update(quick_answer())
    provider.shutdown()  # flushes: Loupe answers once the spans are stored
    print(json.dumps({"sent": sent, "read_back": read_back(base_url, project)}))


if __name__ == "__main__":
    main()
