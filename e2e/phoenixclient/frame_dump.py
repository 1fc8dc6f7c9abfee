"""Prints the spans DataFrame of a project as arize-phoenix-client reads it.

Run by frame_test.go with the test virtual environment's python:

    python frame_dump.py BASE_URL PROJECT

One JSON object: the index and columns, each column's dtype, and every row
in index order, each value as plain JSON (missing values as null, times in
ISO 8601), so that the Go test can compare the whole frame with a golden file.
"""

import json
import math
import sys

import pandas as pd
from phoenix.client import Client


def plain(v):
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if hasattr(v, "tolist") and not isinstance(v, (str, bytes)):
        return plain(v.tolist())
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, float):
        return repr(v)
    return v


def main() -> None:
    base_url, project = sys.argv[1], sys.argv[2]
    df = Client(base_url=base_url).spans.get_spans_dataframe(project_identifier=project, limit=100_000)
    df = df.sort_index()
    rows = []
    for idx, row in zip(df.index, df.itertuples(index=False)):
        rows.append([plain(idx)] + [plain(v) for v in row])
    print(
        json.dumps(
            {
                "index": list(df.index.names),
                "columns": list(df.columns),
                "dtypes": {c: str(t) for c, t in df.dtypes.items()},
                "rows": rows,
            },
            indent=1,
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
