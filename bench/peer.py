#!/usr/bin/env python3
"""The peer side of Bookline's benchmarks: Google's own Python client
(google-api-python-client) doing the same work against the gcal-emulator.

Each subcommand prints one JSON object: wall seconds, requests the emulator counted
(delta of /_emulator/stats), quota rejections, and the peer's resident memory.

  peer.py --base-url URL --token TOKEN --calendar CAL read --events N
  peer.py ... insert-one-by-one --count N
  peer.py ... insert-batch --count N --batch 50
  peer.py ... incremental --events N (full read for a sync token and one event renamed by
                                     another client, not measured; then the measured
                                     read of what changed: events.list with syncToken)
  peer.py ... seed --events N        (control API, not measured: the starting state)
"""
import argparse
import json
import resource
import sys
import time
import urllib.request

import httplib2
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest


def stats(base):
    with urllib.request.urlopen(base + "/_emulator/stats") as r:
        return json.load(r)


def service(base, token):
    creds = Credentials(token=token)
    http = AuthorizedHttp(creds, http=httplib2.Http(timeout=60))
    # The discovery document ships with the client (static_discovery): no network.
    return build(
        "calendar",
        "v3",
        http=http,
        client_options={"api_endpoint": base + "/calendar/v3/"},
        static_discovery=True,
        cache_discovery=False,
    )


def event_body(i):
    day = 1 + i % 28
    hour = 8 + i % 10
    return {
        "summary": f"Peer appointment {i}",
        "start": {"dateTime": f"2026-06-{day:02d}T{hour:02d}:00:00Z", "timeZone": "UTC"},
        "end": {"dateTime": f"2026-06-{day:02d}T{hour:02d}:30:00Z", "timeZone": "UTC"},
    }


def is_rate_limit(err):
    return err.resp.status in (403, 429)


def read(svc, cal, args):
    count = 0
    pages = 0
    token = None
    while True:
        resp = svc.events().list(calendarId=cal, maxResults=2500, pageToken=token).execute()
        pages += 1
        count += len(resp.get("items", []))
        token = resp.get("nextPageToken")
        if not token:
            break
    if count != args.events:
        print(f"read {count} events, expected {args.events}", file=sys.stderr)
        sys.exit(1)
    return {"events": count, "pages": pages, "errors": 0}


def prepare_incremental(svc, cal, args):
    """A full read that ends with a sync token, then another client renames one event."""
    token, sync_token, first, count = None, None, None, 0
    while True:
        resp = svc.events().list(calendarId=cal, maxResults=2500, pageToken=token).execute()
        items = resp.get("items", [])
        count += len(items)
        first = first or (items[0]["id"] if items else None)
        token = resp.get("nextPageToken")
        if not token:
            sync_token = resp["nextSyncToken"]
            break
    if count != args.events or first is None:
        print(f"read {count} events, expected {args.events}", file=sys.stderr)
        sys.exit(1)
    svc.events().patch(calendarId=cal, eventId=first, body={"summary": "Renamed elsewhere"}).execute()
    return sync_token


def incremental(svc, cal, sync_token):
    resp = svc.events().list(calendarId=cal, syncToken=sync_token).execute()
    changed = len(resp.get("items", []))
    if changed != 1:
        print(f"incremental read saw {changed} changes, expected 1", file=sys.stderr)
        sys.exit(1)
    return {"changed": changed, "errors": 0}


def with_backoff(call, errors):
    """The usual client-side retry: exponential backoff on 403/429 rate limits."""
    delay = 0.05
    while True:
        try:
            return call()
        except HttpError as err:
            if not is_rate_limit(err):
                raise
            errors["rate_limited"] += 1
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def insert_one_by_one(svc, cal, args):
    errors = {"rate_limited": 0}
    for i in range(args.count):
        with_backoff(lambda: svc.events().insert(calendarId=cal, body=event_body(i)).execute(), errors)
    return {"inserted": args.count, **errors}


def insert_batch(svc, cal, args, base):
    errors = {"rate_limited": 0}
    pending = list(range(args.count))
    delay = 0.05
    while pending:
        chunk, pending = pending[: args.batch], pending[args.batch :]
        failed = []

        def callback(request_id, _response, exception, failed=failed):
            if exception is not None:
                if isinstance(exception, HttpError) and is_rate_limit(exception):
                    errors["rate_limited"] += 1
                    failed.append(int(request_id))
                else:
                    raise exception

        batch = BatchHttpRequest(callback=callback, batch_uri=base + "/batch/calendar/v3")
        for i in chunk:
            batch.add(svc.events().insert(calendarId=cal, body=event_body(i)), request_id=str(i))
        batch.execute(http=svc._http)
        if failed:
            # Retry only the rejected parts, after a backoff.
            pending = sorted(failed) + pending
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
        else:
            delay = 0.05
    return {"inserted": args.count, **errors}


def seed(base, cal, n):
    """Creates n events through the emulator's control API on one kept-alive connection."""
    import http.client
    from urllib.parse import urlparse, quote

    u = urlparse(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    path = "/_emulator/events/" + quote(cal, safe="")
    for i in range(n):
        body = json.dumps(event_body(i))
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            print(f"seeding event {i}: HTTP {resp.status}", file=sys.stderr)
            sys.exit(1)
    conn.close()
    return n


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--base-url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--calendar", required=True)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("read")
    r.add_argument("--events", type=int, required=True)
    o = sub.add_parser("insert-one-by-one")
    o.add_argument("--count", type=int, required=True)
    b = sub.add_parser("insert-batch")
    b.add_argument("--count", type=int, required=True)
    b.add_argument("--batch", type=int, default=50)
    inc = sub.add_parser("incremental")
    inc.add_argument("--events", type=int, required=True)
    sd = sub.add_parser("seed")
    sd.add_argument("--events", type=int, required=True)
    args = p.parse_args()

    base = args.base_url.rstrip("/")
    if args.cmd == "seed":
        start = time.perf_counter()
        n = seed(base, args.calendar, args.events)
        print(json.dumps({"seeded": n, "seconds": round(time.perf_counter() - start, 3)}))
        return
    svc = service(base, args.token)
    sync_token = prepare_incremental(svc, args.calendar, args) if args.cmd == "incremental" else None
    before = stats(base)
    start = time.perf_counter()
    if args.cmd == "read":
        detail = read(svc, args.calendar, args)
    elif args.cmd == "incremental":
        detail = incremental(svc, args.calendar, sync_token)
    elif args.cmd == "insert-one-by-one":
        detail = insert_one_by_one(svc, args.calendar, args)
    else:
        detail = insert_batch(svc, args.calendar, args, base)
    wall = time.perf_counter() - start
    after = stats(base)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(
        json.dumps(
            {
                "case": args.cmd,
                "peer_s": round(wall, 3),
                # Calendar API calls as Google's quota counts them: each batch part
                # (rejected ones too), not the batch envelope.
                "requests": (after["total"] - before["total"])
                - (after["batches"]["count"] - before["batches"]["count"]),
                # HTTP round trips: single calls plus batch envelopes.
                "http_requests": (after["total"] - before["total"])
                - (after["batches"]["parts"] - before["batches"]["parts"]),
                "quota_rejections": after["quota_rejections"]["total"]
                - before["quota_rejections"]["total"],
                "rss_mb": round(rss_mb, 1),
                **detail,
            }
        )
    )


if __name__ == "__main__":
    main()
