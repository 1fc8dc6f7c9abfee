"""Reads spans and writes annotations with arize-phoenix-client, given only
a base URL and api_key=, as a notebook does.

Usage: client_app.py BASE_URL API_KEY PROJECT
Prints {"spans": [...span ids...], "annotation_id": ..., "note_id": ...}.
"""

import json
import sys

from phoenix.client import Client


def main() -> None:
    base_url, api_key, project = sys.argv[1:4]
    client = Client(base_url=base_url, api_key=api_key)
    df = client.spans.get_spans_dataframe(project_identifier=project)
    span_ids = sorted(df["context.span_id"].tolist())
    ann = client.spans.add_span_annotation(
        span_id=span_ids[0], annotation_name="correctness", label="correct", score=1.0,
        annotator_kind="HUMAN", sync=True,
    )
    note = client.spans.add_span_note(span_id=span_ids[0], note="checked with a key")
    print(json.dumps({"spans": span_ids, "annotation_id": ann["id"], "note_id": note["id"]}))


if __name__ == "__main__":
    main()
