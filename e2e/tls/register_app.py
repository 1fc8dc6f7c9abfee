"""Sends one span with arize-phoenix-otel's register() to an https endpoint.

Usage: register_app.py ENDPOINT PROTOCOL PROJECT. The server's certificate
is trusted through OTEL_EXPORTER_OTLP_CERTIFICATE, as an application would
trust a self-signed one.
"""

import sys

from phoenix.otel import register

endpoint, protocol, project = sys.argv[1:4]
tracer_provider = register(project_name=project, endpoint=endpoint, protocol=protocol, batch=False)
with tracer_provider.get_tracer("register_app").start_as_current_span("over tls"):
    pass
tracer_provider.shutdown()
