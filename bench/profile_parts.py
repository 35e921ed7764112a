#!/usr/bin/env python3
"""Sums `perf record --call-graph` samples of a sync_bench import by part of the import.

  bench/profile_parts.py --freq 2000 target/profile/import-1.data[@FROM,TO] [more runs…]

FROM,TO (perf's clock; with `perf record -k realtime`, Unix seconds as sync_bench's
`timed_unix_s`) keeps only the samples taken while the import was timed.

Each sample goes to the first part (in the order below) that any frame of its stack names,
so the innermost named part wins over the ones around it (an appointment's INSERT over the
page's transaction, that over the listing). The storage floor, which sync_bench measures
after the import in the same process, is left out. Prints CPU milliseconds per run (the
samples over the runs, at the sampling frequency) and shares of the import's samples.
"""
import argparse
import collections
import subprocess

# (part, substrings of a frame's symbol that put a sample in it), innermost first.
PARTS = [
    ("storage floor (not the import)", ["storage_floor"]),
    ("decode the JSON page", ["client::decode", "decode_events_page",
                              "as serde_core::de::Deserialize>::deserialize"]),
    ("checkpoint between pages", ["Store::checkpoint"]),
    ("job items (write_items)", ["write_items"]),
    ("search index fill (flush_search)", ["flush_search"]),
    ("link INSERT (links::upsert)", ["links::upsert"]),
    ("appointment INSERT (insert_in)", ["insert_in"]),
    ("rest of apply_one", ["apply_one"]),
    ("rest of the page's transaction (commit, activity)", ["SyncEngine::apply", "Store::write"]),
    ("plan and run after the listing", ["finish_plan", "backfill::plan", "backfill::run::",
                                        "backfill::run<", "pending_items", "chunk_states"]),
    ("open, job and index at the start", ["Store::open", "migrate", "create_job",
                                          "appointments_except", "crm_sides",
                                          "linked_event_ids"]),
    # The listing's own loop is inlined into `start`'s future: what is left there is it.
    ("decide the page (map, decide, sort, drop)", ["import_while_listing",
                                                   "backfill::start::{{closure}}"]),
    ("HTTP (hyper, reqwest, tokio)", ["hyper", "reqwest", "tokio"]),
]
FLOOR = PARTS[0][0]


def part_of(frames):
    for name, keys in PARTS:
        if any(k in f for f in frames for k in keys):
            return name
    return "other (allocator, kernel, unnamed frames)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--freq", type=float, required=True, help="perf record -F")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    counts = collections.Counter()
    for arg in args.files:
        path, _, window = arg.partition("@")
        cmd = ["perf", "script", "-i", path, "-F", "ip,sym"]
        if window:
            cmd += ["--time", window]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        for block in out.split("\n\n"):
            frames = [line.strip() for line in block.strip().split("\n") if line.strip()]
            if frames:
                counts[part_of(frames)] += 1
    total = sum(counts.values()) - counts[FLOOR]
    if total == 0:
        raise SystemExit("no samples of the import")
    per_run = 1000.0 / args.freq / len(args.files)
    print(f"CPU per import: {total * per_run:.0f} ms ({len(args.files)} runs, "
          f"{total} samples at {args.freq:.0f}/s)")
    for name, n in counts.most_common():
        if name != FLOOR:
            print(f"  {n * per_run:6.1f} ms  {100 * n / total:4.1f} %  {name}")


if __name__ == "__main__":
    main()
