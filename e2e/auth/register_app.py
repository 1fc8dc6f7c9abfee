"""Sends one span to Loupe as an application traced with phoenix.otel.register()
does: the key comes from PHOENIX_API_KEY alone, as it would in production.

Usage: register_app.py PROTOCOL ENDPOINT PROJECT
  PROTOCOL  grpc or http/protobuf
Prints {"trace_id": ...}; the exporter's failures, if any, go to stderr.
"""

import json
import logging
import sys

from phoenix.otel import register


def main() -> None:
    protocol, endpoint, project = sys.argv[1:4]
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # batch=False exports as each span ends, so a refusal is logged before
    # the script exits.
    provider = register(
        project_name=project,
        endpoint=endpoint,
        protocol=protocol,
        batch=False,
        set_global_tracer_provider=False,
        verbose=False,
    )
    tracer = provider.get_tracer("loupe-e2e-auth")
    with tracer.start_as_current_span("checkout") as span:
        span.set_attribute("openinference.span.kind", "CHAIN")
        span.set_attribute("input.value", "is the key taken?")
        trace_id = format(span.get_span_context().trace_id, "032x")
    provider.force_flush()
    provider.shutdown()
    print(json.dumps({"trace_id": trace_id}))


if __name__ == "__main__":
    main()
