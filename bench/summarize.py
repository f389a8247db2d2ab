#!/usr/bin/env python3
"""One comparison table from bench/compare's results: for each workload, dbridge from Rust
and from Lua beside SQLAlchemy's ORM, plain psycopg, raw sqlx, SeaORM and the server's
floor, with dbridge's ratio to each (>1 means dbridge is better, whatever the unit).
Usage: summarize.py results/run1 [results/run2 ...]"""
import json, pathlib, statistics, sys

LOWER_IS_BETTER = {"us_per_row", "us_per_op", "ms", "seconds", "peak_rss_mib"}

# workload label, metric, then the (file, workload) of each column
ROWS = [
    ("W1 insert + commit (sync off)", "us_per_row", {
        "rust": ("dbridge", "dbridge-rust", "W1_single_insert_sync_commit_off"),
        "lua": ("dbridge", "dbridge-lua", "W1_single_insert_sync_commit_off"),
        "rhai": ("rhai", "dbridge-rhai", "W1_single_insert_sync_commit_off"),
        "sqla": ("sqla", None, "W1_single_insert_sync_commit_off"),
        "psycopg": ("raw", None, "W1_single_insert_sync_commit_off"),
        "sqlx": ("sqlx", None, "W1_insert_tx_sync_off"),
        "seaorm": ("seaorm", None, "W1_insert_tx_sync_off"),
    }),
    ("W1 session add + commit (sync off)", "us_per_row", {
        "rust": ("dbridge", "dbridge-rust", "W1_session_insert_commit"),
        "lua": ("dbridge", "dbridge-lua", "W1_session_insert_commit"),
        "sqla": ("sqla", None, "W1_single_insert_sync_commit_off"),
        "sqlx": ("sqlx", None, "W1_insert_tx_sync_off"),
        "seaorm": ("seaorm", None, "W1_insert_tx_sync_off"),
    }),
    # dbridge's Core insert loads through binary COPY: raw sqlx's COPY beside it.
    ("W2 bulk insert (Core path; raw sqlx: COPY)", "rows_per_s", {
        "rust": ("dbridge", "dbridge-rust", "W2_bulk_insert_core_insert"),
        "sqla": ("sqla", None, "W2_bulk_insert_core_insert"),
        "psycopg": ("raw", None, "W2_bulk_insert_executemany"),
        "sqlx": ("sqlx", None, "W2_copy_in_raw"),
        "seaorm": ("seaorm", None, "W2_insert_many"),
        "floor": ("floor", None, "psql_copy_from_stdin"),
    }),
    ("W2 bulk insert (session add_all)", "rows_per_s", {
        "rust": ("dbridge", "dbridge-rust", "W2_bulk_insert_session_add_all"),
        "lua": ("dbridge", "dbridge-lua", "W2_bulk_insert_session_add_all"),
        "sqla": ("sqla", None, "W2_bulk_insert_orm_add_all"),
        "seaorm": ("seaorm", None, "W2_insert_many"),
        "floor": ("floor", None, "psql_copy_from_stdin"),
    }),
    ("W3 load rows", "rows_per_s", {
        "rust": ("dbridge", "dbridge-rust", "W3_select_core_rows"),
        "lua": ("dbridge", "dbridge-lua", "W3_select_core_rows"),
        "rhai": ("rhai", "dbridge-rhai", "W3_select_core_rows"),
        "sqla": ("sqla", None, "W3_select_orm_objects"),
        "psycopg": ("raw", None, "W3_select_tuples"),
        "sqlx": ("sqlx", None, "W3_fetch_all_fromrow"),
        "seaorm": ("seaorm", None, "W3_find_all"),
    }),
    ("W3 load as instances (session)", "rows_per_s", {
        "rust": ("dbridge", "dbridge-rust", "W3_session_instances"),
        "lua": ("dbridge", "dbridge-lua", "W3_session_instances"),
        "sqla": ("sqla", None, "W3_select_orm_objects"),
        "sqlx": ("sqlx", None, "W3_fetch_all_fromrow"),
        "seaorm": ("seaorm", None, "W3_find_all"),
    }),
    ("W4 get by key, 50% identity-map hits", "us_per_op", {
        "rust": ("dbridge", "dbridge-rust", "W4_session_get_identity_map"),
        "lua": ("dbridge", "dbridge-lua", "W4_session_get_identity_map"),
        "sqla": ("sqla", None, "W4_get_by_pk"),
        "sqlx": ("sqlx", None, "W4_point_select"),
        "seaorm": ("seaorm", None, "W4_find_by_id"),
    }),
    ("W5 load 10k, change, commit", "rows_per_s", {
        "rust": ("dbridge", "dbridge-rust", "W5_session_update"),
        "lua": ("dbridge", "dbridge-lua", "W5_session_update"),
        "rhai": ("rhai", "dbridge-rhai", "W5_session_update"),
        "sqla": ("sqla", None, "W5_uow_update"),
    }),
    ("W6 1,000 authors x 10 posts, selectin", "ms", {
        "rust": ("dbridge", "dbridge-rust", "W6_eager_selectin"),
        "lua": ("dbridge", "dbridge-lua", "W6_eager_selectin"),
        "rhai": ("rhai", "dbridge-rhai", "W6_eager_selectin"),
        "sqla": ("sqla", None, "W6_eager_selectinload"),
    }),
    ("W6 1,000 authors x 10 posts, joined", "ms", {
        "rust": ("dbridge", "dbridge-rust", "W6_eager_joined"),
        "lua": ("dbridge", "dbridge-lua", "W6_eager_joined"),
        "rhai": ("rhai", "dbridge-rhai", "W6_eager_joined"),
        "sqla": ("sqla", None, "W6_eager_joinedload"),
    }),
    ("W8 100k joined-inheritance rows, inline (with_polymorphic)", "rows_per_s", {
        "rust": ("dbridge", "dbridge-rust", "W8_polymorphic_inline"),
        "sqla": ("sqlapoly", None, "W8_polymorphic_inline"),
    }),
    ("W8 100k joined-inheritance rows, selectin_polymorphic", "rows_per_s", {
        "rust": ("dbridge", "dbridge-rust", "W8_polymorphic_selectin"),
        "sqla": ("sqlapoly", None, "W8_polymorphic_selectin"),
    }),
    ("W4 point select by key", "us_per_op", {
        "rust": ("dbridge", "dbridge-rust", "W4_point_select_core"),
        "sqla": ("sqla", None, "W4_get_by_pk"),
        "psycopg": ("raw", None, "W4_point_select"),
        "sqlx": ("sqlx", None, "W4_point_select"),
        "seaorm": ("seaorm", None, "W4_find_by_id"),
    }),
    ("W7 stream 1M rows", "seconds", {
        "rust": ("dbridge", "dbridge-rust", "W7_stream"),
        "lua": ("dbridge", "dbridge-lua", "W7_stream"),
        "sqla": ("sqla", None, "W7_stream_yield_per"),
        "psycopg": ("raw", None, "W7_stream_server_cursor"),
    }),
    ("W7 stream: peak RSS", "peak_rss_mib", {
        "rust": ("dbridge", "dbridge-rust", "W7_stream"),
        "lua": ("dbridge", "dbridge-lua", "W7_stream"),
        "sqla": ("sqla", None, "W7_stream_yield_per"),
        "psycopg": ("raw", None, "W7_stream_server_cursor"),
    }),
]
# The first SIDES columns are dbridge's; ratios compare each of them with the rest.
SIDES = 3
COLUMNS = [("rust", "dbridge (Rust)"), ("lua", "dbridge (Lua)"), ("rhai", "dbridge (Rhai)"), ("sqla", "SQLAlchemy ORM"),
           ("psycopg", "psycopg"), ("sqlx", "raw sqlx"), ("seaorm", "SeaORM"), ("floor", "COPY floor")]


def load(runs):
    samples = {}  # (file, source, workload, metric) -> [samples]
    for run in runs:
        for f in pathlib.Path(run).glob("*.jsonl"):
            for line in f.read_text().splitlines():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if "workload" not in rec or "metric" not in rec:
                    continue
                key = (f.stem, rec.get("source"), rec["workload"], rec["metric"])
                samples.setdefault(key, []).extend(rec.get("samples") or [rec["value"]])
    return samples


def fmt(x):
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"


def main():
    runs = sys.argv[1:]
    data = load(runs)
    print(f"# dbridge comparison ({len(runs)} interleaved run(s); medians of all samples)\n")
    print("| workload | metric | " + " | ".join(c for _, c in COLUMNS) + " | dbridge vs others |")
    print("|---|---|" + "---|" * len(COLUMNS) + "---|")
    for label, metric, cols in ROWS:
        vals = {}
        for key, (file, source, workload) in cols.items():
            s = data.get((file, source, workload, metric))
            if s:
                vals[key] = statistics.median(s)
        ratios = []
        for side, side_name in (("rust", "Rust"), ("lua", "Lua"), ("rhai", "Rhai")):
            ours = vals.get(side)
            if ours is None:
                continue
            parts = []
            if side == "rhai" and vals.get("lua"):
                lua = vals["lua"]
                r = lua / ours if metric in LOWER_IS_BETTER else ours / lua
                parts.append(f"Lua {r:.2f}x")
            for key, name in COLUMNS[SIDES:]:
                if key in vals and vals[key] and ours:
                    r = vals[key] / ours if metric in LOWER_IS_BETTER else ours / vals[key]
                    parts.append(f"{name} {r:.2f}x")
            if parts:
                ratios.append(f"{side_name}: " + ", ".join(parts))
        cells = [fmt(vals[k]) if k in vals else "-" for k, _ in COLUMNS]
        print(f"| {label} | {metric} | " + " | ".join(cells) + " | " + "; ".join(ratios) + " |")
    print("\nRatios compare dbridge (from Rust, Lua and Rhai) with each other column; >1x means dbridge is ahead.")
    startup(data)


def startup(data):
    """The start-up figures of bench/startup (startup.jsonl), when present."""
    rows = sorted((w, statistics.median(s)) for (f, _, w, m), s in data.items() if f == "startup" and m == "ms")
    if not rows:
        return
    print("\n| start-up (bench/startup) | ms |\n|---|---|")
    for workload, ms in rows:
        print(f"| {workload} | {fmt(ms)} |")


if __name__ == "__main__":
    main()
