"""Drives a running Loupe with Arize Phoenix's own Python client.

Run by phoenixclient_test.go with the test virtual environment's python:

    python client_check.py BASE_URL PROJECT [EXPORT_PROJECT [TRACES_PROJECT DELETE_TRACE]]

It calls the client as a Phoenix user would and prints one JSON object of
what came back; the Go test asserts on it, against what it sent. A client
call that fails is recorded as {"error": "..."} under its step instead of
stopping the run, so one run reports every incompatibility. Steps that
delete run last, after every step that reads what they delete.
"""

import json
import sys
import time
import traceback
from datetime import datetime, timedelta, timezone

import httpx
import pandas as pd
from phoenix.client import Client
from phoenix.client.types.spans import SpanQuery


def main() -> None:
    base_url, project = sys.argv[1], sys.argv[2]
    export_project = sys.argv[3] if len(sys.argv) > 3 else None
    traces_project = sys.argv[4] if len(sys.argv) > 4 else None
    delete_trace = sys.argv[5] if len(sys.argv) > 5 else None
    client = Client(base_url=base_url)
    requests: list = []
    client._client.event_hooks["request"].append(
        lambda r: requests.append(f"{r.method} {r.url.path}?{r.url.query.decode()}")
    )
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

    if traces_project:
        tracing_steps(client, step, requests, project, traces_project, delete_trace)

    json.dump(out, sys.stdout, default=str)


def wait_for(fn, want, seconds=10.0):
    """Calls fn until it returns want (spans uploaded are written as they
    are queued, a moment after the answer), and returns what it last got."""
    deadline = time.monotonic() + seconds
    while True:
        got = fn()
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def tracing_steps(client, step, requests, project, traces_project, delete_trace):
    """Every tracing method of arize-phoenix-client 3.5: projects, spans,
    traces, sessions, annotations and notes, on the agent runs of PROJECT and
    the turns of TRACES_PROJECT that phoenixclient_test.go sent; spans.delete
    deletes the spans of DELETE_TRACE."""
    raw = client._client

    def projects_crud():
        created = client.projects.create(name="client-scratch", description="first words")
        updated = client.projects.update(project_name="client-scratch", description="second words")
        got = client.projects.get(project_id=created["id"])
        listed = [p["name"] for p in client.projects.list()]
        filtered = [p["name"] for p in client.projects.list(name_contains="SCRATCH")]
        return {
            "created": created["name"],
            "updated": updated["description"],
            "got": [got["name"], got["description"]],
            "listed": "client-scratch" in listed,
            "filtered": filtered,
        }

    step("projects_crud", projects_crud)

    def log_spans():
        now = datetime.now(timezone.utc)
        span = {
            "name": "uploaded",
            "context": {"trace_id": "a" * 32, "span_id": "a" * 16},
            "span_kind": "LLM",
            "parent_id": None,
            "start_time": (now - timedelta(seconds=2)).isoformat(),
            "end_time": (now - timedelta(seconds=1)).isoformat(),
            "status_code": "OK",
            "status_message": "",
            "attributes": {"llm.model_name": "gpt-4o-mini", "input.value": "uploaded question"},
            "events": [],
        }
        sent = client.spans.log_spans(project_identifier="client-scratch", spans=[span])
        frame = pd.DataFrame([{
            "name": "uploaded-from-frame",
            "context.trace_id": "b" * 32,
            "context.span_id": "b" * 16,
            "span_kind": "CHAIN",
            "parent_id": None,
            "start_time": (now - timedelta(seconds=2)).isoformat(),
            "end_time": (now - timedelta(seconds=1)).isoformat(),
            "status_code": "ERROR",
            "status_message": "boom",
            "attributes.input.value": "framed question",
        }])
        sent_frame = client.spans.log_spans_dataframe(project_identifier="client-scratch", spans_dataframe=frame)
        got = wait_for(
            lambda: sorted(s["name"] for s in client.spans.get_spans(project_identifier="client-scratch")),
            ["uploaded", "uploaded-from-frame"],
        )
        errors = client.spans.get_spans(project_identifier="client-scratch", status_code="ERROR")
        return {
            "queued": sent["total_queued"],
            "queued_from_frame": sent_frame["total_queued"],
            "names": got,
            "error_inputs": [s["attributes"].get("input.value") for s in errors],
        }

    step("log_spans", log_spans)

    def span_filters():
        every = client.spans.get_spans(project_identifier=project, limit=1000)
        trace = every[0]["context"]["trace_id"]
        one = every[0]["context"]["span_id"]
        count = lambda **kw: len(client.spans.get_spans(project_identifier=project, limit=1000, **kw))
        return {
            "all": len(every),
            "trace_ids": count(trace_ids=[trace]),
            "span_ids": count(span_ids=[one]),
            "name": count(name="tool.search_docs"),
            "span_kind": count(span_kind="RETRIEVER"),
            "status_code": count(status_code="ERROR"),
            "roots": count(parent_id="null"),
            "attribute": count(attributes={"llm.model_name": "claude-3-5-haiku"}),
            "combined": count(name="llm.chat", status_code="UNSET"),
            "limit": len(client.spans.get_spans(project_identifier=project, limit=4)),
        }

    step("span_filters", span_filters)

    def span_annotations_and_notes():
        retrievers = client.spans.get_spans(project_identifier=project, span_kind="RETRIEVER", limit=10)
        sids = sorted(s["context"]["span_id"] for s in retrievers)
        one = client.spans.add_span_annotation(
            span_id=sids[0], annotation_name="grounded", label="yes", score=1.0,
            explanation="cites the policy", identifier="v1", sync=True,
        )
        note = client.spans.add_span_note(span_id=sids[0], note="check the second document")
        doc = client.spans.add_document_annotation(
            span_id=sids[0], document_position=0, annotation_name="relevance",
            label="relevant", score=0.9, sync=True,
        )
        docs = client.spans.log_document_annotations(
            document_annotations=[
                {"span_id": sid, "document_position": 1, "name": "relevance",
                 "annotator_kind": "LLM", "result": {"label": "irrelevant", "score": 0.1}}
                for sid in sids
            ],
            sync=True,
        )
        docs_frame = client.spans.log_document_annotations_dataframe(
            dataframe=pd.DataFrame({"span_id": sids, "document_position": [0] * len(sids),
                                    "label": ["relevant"] * len(sids), "score": [0.8] * len(sids)}),
            annotation_name="relevance-llm", annotator_kind="LLM", sync=True,
        )
        listed = client.spans.get_span_annotations(span_ids=[sids[0]], project_identifier=project)
        notes = client.spans.get_span_annotations(
            span_ids=[sids[0]], project_identifier=project,
            include_annotation_names=["note"], exclude_annotation_names=[],
        )
        frame = client.spans.get_span_annotations_dataframe(span_ids=[sids[0]], project_identifier=project)
        return {
            "annotation_id": bool(one and one.get("id")),
            "note_id": bool(note and note.get("id")),
            "document_id": bool(doc and doc.get("id")),
            "documents": len(docs or []),
            "documents_from_frame": len(docs_frame or []),
            "listed": sorted(
                f"{a['name']}:{a['result'].get('label')}:{a.get('identifier')}" for a in listed
            ),
            "notes": [a["result"].get("explanation") for a in notes if a["name"] == "note"],
            "frame_names": sorted(set(frame["annotation_name"])) if len(frame) else [],
        }

    step("span_annotations_and_notes", span_annotations_and_notes)

    def traces():
        def ids(**kw):
            return [t["trace_id"] for t in client.traces.get_traces(project_identifier=traces_project, **kw)]

        requests.clear()
        every = client.traces.get_traces(project_identifier=traces_project, limit=1000)
        paging = [r for r in requests if "/traces" in r]
        starts = [datetime.fromisoformat(t["start_time"]) for t in every]
        base = min(starts)
        with_spans = client.traces.get_traces(project_identifier=traces_project, include_spans=True, limit=3)
        by_latency = client.traces.get_traces(project_identifier=traces_project, sort="latency_ms", order="desc", limit=250)
        latency = lambda t: (datetime.fromisoformat(t["end_time"]) - datetime.fromisoformat(t["start_time"])).total_seconds() * 1000
        return {
            "all": [t["trace_id"] for t in every],
            "pages": len(paging),
            "later_pages_have_cursors": all("cursor=" in r for r in paging[1:]),
            "oldest_first": ids(order="asc", sort="start_time", limit=5),
            "slowest": [round(latency(t)) for t in by_latency],
            "errors": sorted(ids(error=True, limit=1000)),
            "no_errors": sorted(ids(error=False, limit=1000)),
            "latency_window": sorted(ids(min_latency_ms=500, max_latency_ms=800, limit=1000)),
            "slow_errors": sorted(ids(error=True, min_latency_ms=900, limit=1000)),
            "session": sorted(ids(session_id="turns-0")),
            "sessions": sorted(ids(session_id=["turns-0", "turns-1"])),
            "time_window": sorted(ids(start_time=base + timedelta(seconds=10), end_time=base + timedelta(seconds=20), limit=1000)),
            "limited": len(ids(limit=7)),
            "with_spans": [sorted(s["name"] for s in t["spans"]) for t in with_spans],
            "with_spans_ids": [t["trace_id"] for t in with_spans],
        }

    step("traces", traces)

    def trace_annotations():
        ids = [t["trace_id"] for t in client.traces.get_traces(project_identifier=traces_project, order="asc", limit=3)]
        one = client.traces.add_trace_annotation(
            trace_id=ids[0], annotation_name="resolved", label="yes", score=1.0, sync=True
        )
        many = client.traces.log_trace_annotations(
            trace_annotations=[
                {"trace_id": tid, "name": "resolved", "annotator_kind": "CODE", "result": {"label": "no", "score": 0.0}}
                for tid in ids[1:]
            ],
            sync=True,
        )
        framed = client.traces.log_trace_annotations_dataframe(
            dataframe=pd.DataFrame({"trace_id": ids, "label": ["polite"] * 3, "score": [0.7] * 3}),
            annotation_name="tone", annotator_kind="LLM", sync=True,
        )
        read = raw.get(
            f"v1/projects/{traces_project}/trace_annotations", params={"trace_ids": ids}
        ).json()["data"]
        return {
            "trace_ids": ids,
            "annotation_id": bool(one and one.get("id")),
            "logged": len(many or []),
            "logged_from_frame": len(framed or []),
            "read": sorted(f"{a['trace_id']}:{a['name']}:{a['result']['label']}" for a in read),
        }

    step("trace_annotations", trace_annotations)

    def sessions():
        listed = client.sessions.list(project_name=traces_project)
        frame = client.sessions.get_sessions_dataframe(project_name=traces_project)
        got = client.sessions.get(session_id="turns-0")
        turns = client.sessions.get_session_turns(session_id="turns-0")
        one = client.sessions.add_session_annotation(
            session_id="turns-0", annotation_name="satisfied", label="yes", score=1.0, sync=True
        )
        many = client.sessions.log_session_annotations(
            session_annotations=[
                {"session_id": "turns-1", "name": "satisfied", "annotator_kind": "HUMAN", "result": {"label": "no"}}
            ],
            sync=True,
        )
        framed = client.sessions.log_session_annotations_dataframe(
            dataframe=pd.DataFrame({"session_id": ["turns-0", "turns-1"], "label": ["short", "long"]}),
            annotation_name="length", annotator_kind="CODE", sync=True,
        )
        read = raw.get(
            f"v1/projects/{traces_project}/session_annotations", params={"session_ids": ["turns-0", "turns-1"]}
        ).json()["data"]
        return {
            "listed": sorted(f"{s['session_id']}:{s['num_traces']}" for s in listed),
            "frame_rows": len(frame),
            "frame_has_session_id": "session_id" in frame.columns,
            "got_session_id": got["session_id"],
            "got_trace_ids": sorted(t["trace_id"] for t in got["traces"]),
            "turn_inputs": [t.get("input", {}).get("value") for t in turns],
            "turn_outputs": [t.get("output", {}).get("value") for t in turns],
            "annotation_id": bool(one and one.get("id")),
            "logged": len(many or []),
            "logged_from_frame": len(framed or []),
            "read": sorted(f"{a['session_id']}:{a['name']}:{a['result']['label']}" for a in read),
        }

    step("sessions", sessions)

    # Deletes, after every read of what they delete.

    def span_delete():
        tid = delete_trace
        spans = client.spans.get_spans(project_identifier=traces_project, trace_ids=[tid])
        child = [s for s in spans if s["parent_id"]][0]
        root = [s for s in spans if not s["parent_id"]][0]
        client.spans.delete(span_identifier=child["context"]["span_id"])
        after_child = len(client.spans.get_spans(project_identifier=traces_project, trace_ids=[tid]))
        client.spans.delete(span_identifier=root["id"])
        after_root = len(client.spans.get_spans(project_identifier=traces_project, trace_ids=[tid]))
        try:
            client.spans.delete(span_identifier=root["id"])
            again = 200
        except httpx.HTTPStatusError as e:
            again = e.response.status_code
        left = [t["trace_id"] for t in client.traces.get_traces(project_identifier=traces_project, limit=1000)]
        return {"after_child": after_child, "after_root": after_root, "again": again,
                "trace_gone": tid not in left, "traces_left": len(left)}

    step("span_delete", span_delete)

    def session_deletes():
        client.sessions.delete(session_id="turns-1")
        try:
            client.sessions.get(session_id="turns-1")
            after_delete = 200
        except httpx.HTTPStatusError as e:
            after_delete = e.response.status_code
        client.sessions.bulk_delete(session_ids=["turns-0", "no-such-session"])
        left = client.sessions.list(project_name=traces_project)
        traces_left = len(client.traces.get_traces(project_identifier=traces_project, limit=1000))
        return {"after_delete": after_delete, "sessions_left": len(left), "traces_left": traces_left}

    step("session_deletes", session_deletes)

    def project_delete():
        client.projects.delete(project_name="client-scratch")
        try:
            client.projects.get(project_name="client-scratch")
            status = 200
        except httpx.HTTPStatusError as e:
            status = e.response.status_code
        return {"status": status, "listed": "client-scratch" in [p["name"] for p in client.projects.list()]}

    step("project_delete", project_delete)


if __name__ == "__main__":
    main()
