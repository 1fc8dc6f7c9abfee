"""Drives a running Loupe with Arize Phoenix's own Python client.

Run by phoenixclient_test.go with the test virtual environment's python:

    python client_check.py BASE_URL PROJECT [EXPORT_PROJECT]

It calls the client as a Phoenix user would and prints one JSON object of
what came back; the Go test asserts on it. A client call that fails is
recorded as {"error": "..."} under its step instead of stopping the run, so
one run reports every incompatibility.
"""

import json
import sys
import traceback
from datetime import datetime, timedelta, timezone

import httpx
import pandas as pd
from phoenix.client import Client
from phoenix.client.types.spans import SpanQuery


def main() -> None:
    base_url, project = sys.argv[1], sys.argv[2]
    export_project = sys.argv[3] if len(sys.argv) > 3 else None
    client = Client(base_url=base_url)
    out: dict = {}

    def step(name, fn):
        try:
            out[name] = fn()
        except Exception as e:  # reported, not raised: see the module doc
            out[name] = {"error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()}

    def projects():
        names = [p["name"] for p in client.projects.list()]
        p = client.projects.get(project_name=project)
        by_id = client.projects.get(project_id=p["id"])
        return {"names": names, "id": p["id"], "name": p["name"], "by_id_name": by_id["name"]}

    step("projects", projects)

    def spans():
        got = client.spans.get_spans(project_identifier=project, limit=1000)
        kinds: dict = {}
        for s in got:
            kinds[s["span_kind"]] = kinds.get(s["span_kind"], 0) + 1
        return {"count": len(got), "kinds": kinds}

    step("spans", spans)

    def all_spans_frame():
        df = client.spans.get_spans_dataframe(project_identifier=project)
        return {
            "rows": len(df),
            "index": list(df.index.names),
            "columns": list(df.columns),
            "start_time_dtype": str(df["start_time"].dtype),
            "newest_first": bool(df["start_time"].is_monotonic_decreasing),
        }

    step("all_spans_frame", all_spans_frame)

    def llm_frame():
        df = client.spans.get_spans_dataframe(
            query=SpanQuery().where("span_kind == 'LLM'"), project_name=project
        )
        models = df["attributes.llm.model_name"].dropna().value_counts().to_dict()
        messages = df["attributes.llm.input_messages"].dropna()
        first = messages.iloc[0] if len(messages) else []
        return {
            "rows": len(df),
            "kinds": sorted(set(df["span_kind"])),
            "models": {k: int(v) for k, v in models.items()},
            "prompt_tokens": float(df["attributes.llm.token_count.prompt"].sum()),
            "first_message_roles": [m.get("message.role") for m in first],
            "errors": int((df["status_code"] == "ERROR").sum()),
            "has_span_id_column": "context.span_id" in df.columns,
            "span_ids": sorted(df.index),
        }

    step("llm_frame", llm_frame)

    def selected():
        q = (
            SpanQuery()
            .where("span_kind == 'LLM' and llm.model_name is not None")
            .select("name", "llm.model_name", "llm.token_count.total")
            .rename(**{"llm.model_name": "model"})
        )
        df = client.spans.get_spans_dataframe(query=q, project_identifier=project)
        return {
            "rows": len(df),
            "columns": list(df.columns),
            "index": list(df.index.names),
            "models": sorted(set(df["model"])),
            "total_tokens": float(df["llm.token_count.total"].sum()),
        }

    step("selected", selected)

    def exploded():
        q = (
            SpanQuery()
            .where("span_kind == 'RETRIEVER'")
            .explode("retrieval.documents", reference="document.content", score="document.score")
        )
        df = client.spans.get_spans_dataframe(query=q, project_identifier=project)
        return {
            "rows": len(df),
            "index": list(df.index.names),
            "columns": list(df.columns),
            "positions": sorted({int(p) for p in df.index.get_level_values("document_position")}),
            "scores": sorted(round(float(s), 4) for s in df["score"]),
            "references": sorted(set(df["reference"])),
        }

    step("exploded", exploded)

    def concatenated():
        q = (
            SpanQuery()
            .where("span_kind == 'RETRIEVER'")
            .concat("retrieval.documents", reference="document.content")
        )
        df = client.spans.get_spans_dataframe(query=q, project_identifier=project)
        return {"rows": len(df), "columns": list(df.columns), "first": str(df["reference"].iloc[0])}

    step("concatenated", concatenated)

    def empty_window():
        start = datetime.now(timezone.utc) + timedelta(days=365)
        df = client.spans.get_spans_dataframe(project_identifier=project, start_time=start)
        return {"rows": len(df), "columns": list(df.columns)}

    step("empty_window", empty_window)

    def roots():
        df = client.spans.get_spans_dataframe(project_identifier=project, root_spans_only=True)
        return {"rows": len(df), "kinds": sorted(set(df["span_kind"]))}

    step("roots", roots)

    def bad_filter():
        try:
            client.spans.get_spans_dataframe(
                query=SpanQuery().where("latncy_ms > 10"), project_identifier=project
            )
        except httpx.HTTPStatusError as e:
            return {"status": e.response.status_code, "body": e.response.text}
        return {"status": 200}

    step("bad_filter", bad_filter)

    def annotations():
        llm = client.spans.get_spans_dataframe(
            query=SpanQuery().where("span_kind == 'LLM'"), project_identifier=project
        )
        ids = sorted(llm.index)
        inserted = client.spans.log_span_annotations(
            span_annotations=[
                {
                    "span_id": sid,
                    "name": "correctness",
                    "annotator_kind": "HUMAN",
                    "result": {
                        "label": "correct" if i % 2 == 0 else "incorrect",
                        "score": 1.0 if i % 2 == 0 else 0.0,
                    },
                }
                for i, sid in enumerate(ids)
            ],
            sync=True,
        )
        frame = pd.DataFrame(
            {"span_id": ids, "label": ["fast"] * len(ids), "score": [0.5] * len(ids)}
        )
        from_frame = client.spans.log_span_annotations_dataframe(
            dataframe=frame, annotation_name="latency", annotator_kind="CODE", sync=True
        )
        listed = client.spans.get_span_annotations(span_ids=ids, project_identifier=project)
        df = client.spans.get_span_annotations_dataframe(
            spans_dataframe=llm, project_identifier=project
        )
        correct = client.spans.get_spans_dataframe(
            query=SpanQuery().where("annotations['correctness'].label == 'correct'"),
            project_identifier=project,
        )
        return {
            "inserted": len(inserted or []),
            "inserted_from_frame": len(from_frame or []),
            "listed": sorted(
                f"{a['span_id']}:{a['name']}:{a['result']['label']}" for a in listed
            ),
            "frame_rows": len(df),
            "frame_columns": sorted(df.columns),
            "frame_labels": sorted(df["result.label"]),
            "filtered_by_annotation": len(correct),
            "expected_correct": len(ids[::2]),
        }

    step("annotations", annotations)

    def large_export():
        # Every span of a large project, with the client's default timeout
        # (5 s between reads): the server streams the answer, and keeps
        # the connection busy while it learns the columns.
        df = client.spans.get_spans_dataframe(project_identifier=export_project, limit=100_000_000)
        return {
            "rows": len(df),
            "span_ids": sorted(df.index),
            "newest_first": bool(df["start_time"].is_monotonic_decreasing),
            "start_time_dtype": str(df["start_time"].dtype),
            "columns": list(df.columns),
        }

    if export_project:
        step("large_export", large_export)

    json.dump(out, sys.stdout, default=str)


if __name__ == "__main__":
    main()
