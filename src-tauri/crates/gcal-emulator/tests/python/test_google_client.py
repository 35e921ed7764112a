"""Drives the emulator with Google's own Python client (google-api-python-client).

If Google's client cannot use the emulator unchanged (but for the endpoint), the
emulator is not faithful. The emulator URL comes from $EMULATOR_URL (run.sh sets it).
"""

import itertools
import json
import os
import urllib.error
import urllib.request

import google_auth_httplib2
import httplib2
import pytest
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

BASE = os.environ["EMULATOR_URL"].rstrip("/")
_counter = itertools.count()


def control(path, body):
    req = urllib.request.Request(
        f"{BASE}/_emulator/{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def service_for(token):
    return build(
        "calendar",
        "v3",
        credentials=Credentials(token),
        client_options={"api_endpoint": BASE + "/calendar/v3/"},
        static_discovery=True,
        cache_discovery=False,
    )


@pytest.fixture(scope="session", autouse=True)
def no_quota():
    control("quota", {"per_user_per_minute": 0, "per_project_per_minute": 0, "window_ms": 60000})
    yield
    control("faults", {})


@pytest.fixture
def account():
    email = f"py{next(_counter)}-{os.getpid()}@example.com"
    return control("accounts", {"email": email})


@pytest.fixture
def svc(account):
    return service_for(account["access_token"])


def reason_of(err):
    return err.error_details[0]["reason"]


def timed(summary, start, end, **extra):
    body = {"summary": summary, "start": {"dateTime": start}, "end": {"dateTime": end}}
    body.update(extra)
    return body


def test_calendar_list_and_primary(svc, account):
    items = svc.calendarList().list().execute()["items"]
    assert len(items) == 3
    primary = [c for c in items if c.get("primary")]
    assert primary[0]["id"] == account["calendar_id"]
    assert {c["accessRole"] for c in items} == {"owner", "reader"}
    cal = svc.calendars().get(calendarId="primary").execute()
    assert cal["id"] == account["calendar_id"]


def test_insert_with_client_id_get_and_409(svc):
    body = timed("Call with lead", "2030-04-01T10:00:00Z", "2030-04-01T10:30:00Z", id="pclient00001",
                 extendedProperties={"private": {"bookline_id": "7"}})
    ev = svc.events().insert(calendarId="primary", body=body, sendUpdates="none").execute()
    assert ev["id"] == "pclient00001"
    assert ev["sequence"] == 0
    got = svc.events().get(calendarId="primary", eventId="pclient00001").execute()
    assert got["extendedProperties"]["private"]["bookline_id"] == "7"
    with pytest.raises(HttpError) as e:
        svc.events().insert(calendarId="primary", body=body).execute()
    assert e.value.status_code == 409
    assert reason_of(e.value) == "duplicate"


def test_invalid_id_404_410_and_412(svc):
    with pytest.raises(HttpError) as e:
        svc.events().insert(calendarId="primary", body=timed("x", "2030-04-01T10:00:00Z", "2030-04-01T11:00:00Z", id="NOT-VALID")).execute()
    assert (e.value.status_code, reason_of(e.value)) == (400, "invalid")
    with pytest.raises(HttpError) as e:
        svc.events().get(calendarId="primary", eventId="missing001").execute()
    assert (e.value.status_code, reason_of(e.value)) == (404, "notFound")
    ev = svc.events().insert(calendarId="primary", body=timed("x", "2030-04-01T10:00:00Z", "2030-04-01T11:00:00Z")).execute()
    # If-Match with a stale etag.
    upd = svc.events().patch(calendarId="primary", eventId=ev["id"], body={"summary": "y"}).execute()
    req = svc.events().update(calendarId="primary", eventId=ev["id"], body=timed("z", "2030-04-02T10:00:00Z", "2030-04-02T11:00:00Z"))
    req.headers["If-Match"] = ev["etag"]
    with pytest.raises(HttpError) as e:
        req.execute()
    assert (e.value.status_code, reason_of(e.value)) == (412, "conditionNotMet")
    req = svc.events().update(calendarId="primary", eventId=ev["id"], body=timed("z", "2030-04-02T10:00:00Z", "2030-04-02T11:00:00Z"))
    req.headers["If-Match"] = upd["etag"]
    assert req.execute()["sequence"] == 1
    assert svc.events().delete(calendarId="primary", eventId=ev["id"]).execute() == ""
    with pytest.raises(HttpError) as e:
        svc.events().delete(calendarId="primary", eventId=ev["id"]).execute()
    assert (e.value.status_code, reason_of(e.value)) == (410, "deleted")


def test_read_only_calendar_is_forbidden(svc):
    reader = [c for c in svc.calendarList().list().execute()["items"] if c["accessRole"] == "reader"][0]
    with pytest.raises(HttpError) as e:
        svc.events().insert(calendarId=reader["id"], body=timed("x", "2030-04-01T10:00:00Z", "2030-04-01T11:00:00Z")).execute()
    assert (e.value.status_code, reason_of(e.value)) == (403, "forbidden")


def test_bad_token_is_401():
    # Plain httplib2 (no google-auth refresh-on-401) so the 401 surfaces as HttpError.
    bare = build("calendar", "v3", http=httplib2.Http(), static_discovery=True,
                 client_options={"api_endpoint": BASE + "/calendar/v3/"}, cache_discovery=False)
    req = bare.events().list(calendarId="primary")
    req.headers["Authorization"] = "Bearer ya29.not-a-token"
    with pytest.raises(HttpError) as e:
        req.execute()
    assert (e.value.status_code, reason_of(e.value)) == (401, "authError")
    with pytest.raises(HttpError) as e:
        bare.events().list(calendarId="primary").execute()
    assert e.value.status_code == 401
    # With google-auth credentials that cannot refresh, the client gives up on the 401.
    from google.auth.exceptions import RefreshError
    with pytest.raises(RefreshError):
        service_for("ya29.not-a-token").events().list(calendarId="primary").execute()


def test_paging_with_list_next(svc):
    for i in range(23):
        svc.events().insert(calendarId="primary", body=timed(f"E{i}", "2030-05-01T10:00:00Z", "2030-05-01T11:00:00Z", id=f"page{i:05d}")).execute()
    req = svc.events().list(calendarId="primary", maxResults=5)
    seen, pages, last = [], 0, None
    while req is not None:
        last = req.execute()
        pages += 1
        seen.extend(i["id"] for i in last["items"])
        if "nextPageToken" in last:
            assert "nextSyncToken" not in last
        req = svc.events().list_next(req, last)
    assert pages == 5
    assert sorted(seen) == sorted(f"page{i:05d}" for i in range(23))
    assert "nextSyncToken" in last


def full_sync(svc):
    items, token, page = [], None, None
    while True:
        r = svc.events().list(calendarId="primary", pageToken=page, maxResults=4).execute()
        items += r["items"]
        page = r.get("nextPageToken")
        if not page:
            return items, r["nextSyncToken"]


def test_sync_tokens_and_full_sync_required(svc):
    for i in range(6):
        svc.events().insert(calendarId="primary", body=timed(f"S{i}", "2030-06-01T10:00:00Z", "2030-06-01T11:00:00Z", id=f"snc{i:05d}")).execute()
    items, token = full_sync(svc)
    assert len(items) == 6
    svc.events().patch(calendarId="primary", eventId="snc00001", body={"summary": "changed"}).execute()
    svc.events().delete(calendarId="primary", eventId="snc00002").execute()
    r = svc.events().list(calendarId="primary", syncToken=token).execute()
    changes = {i["id"]: i["status"] for i in r["items"]}
    assert changes == {"snc00001": "confirmed", "snc00002": "cancelled"}
    with pytest.raises(HttpError) as e:
        svc.events().list(calendarId="primary", syncToken=r["nextSyncToken"], q="x").execute()
    assert e.value.status_code == 400
    control("faults", {"expire_sync_tokens": True})
    with pytest.raises(HttpError) as e:
        svc.events().list(calendarId="primary", syncToken=r["nextSyncToken"]).execute()
    assert (e.value.status_code, reason_of(e.value)) == (410, "fullSyncRequired")


def test_batch_http_request(svc):
    results = {}

    def cb(request_id, response, exception):
        results[request_id] = (response, exception)

    batch = BatchHttpRequest(callback=cb, batch_uri=BASE + "/batch/calendar/v3")
    body = timed("batched", "2030-07-01T10:00:00Z", "2030-07-01T11:00:00Z", id="batchp0001")
    batch.add(svc.events().insert(calendarId="primary", body=body), request_id="a")
    batch.add(svc.events().insert(calendarId="primary", body=body), request_id="b")
    batch.add(svc.events().get(calendarId="primary", eventId="nosuch0001"), request_id="c")
    batch.add(svc.events().list(calendarId="primary", maxResults=1), request_id="d")
    batch.execute()
    assert results["a"][0]["id"] == "batchp0001"
    assert results["a"][1] is None
    assert isinstance(results["b"][1], HttpError) and results["b"][1].status_code == 409
    assert reason_of(results["b"][1]) == "duplicate"
    assert results["c"][1].status_code == 404
    assert results["d"][0]["kind"] == "calendar#events"
    stats = json.loads(urllib.request.urlopen(BASE + "/_emulator/stats").read())
    assert 4 in stats["batches"]["sizes"]


def test_batch_deletes_with_empty_bodies(svc):
    ids = [svc.events().insert(calendarId="primary", body=timed("d", "2030-07-02T10:00:00Z", "2030-07-02T11:00:00Z")).execute()["id"] for _ in range(3)]
    out = {}
    batch = BatchHttpRequest(callback=lambda rid, resp, exc: out.__setitem__(rid, (resp, exc)), batch_uri=BASE + "/batch/calendar/v3")
    for i in ids:
        batch.add(svc.events().delete(calendarId="primary", eventId=i))
    batch.execute()
    assert len(out) == 3 and all(exc is None for _, exc in out.values())


def test_single_events_and_instances(svc):
    master = svc.events().insert(calendarId="primary", body={
        "summary": "Weekly", "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4"],
        "start": {"dateTime": "2030-09-02T09:00:00-04:00", "timeZone": "America/New_York"},
        "end": {"dateTime": "2030-09-02T09:30:00-04:00", "timeZone": "America/New_York"},
    }).execute()
    inst = svc.events().instances(calendarId="primary", eventId=master["id"]).execute()["items"]
    assert len(inst) == 4
    assert all(i["recurringEventId"] == master["id"] for i in inst)
    svc.events().delete(calendarId="primary", eventId=inst[1]["id"]).execute()
    single = svc.events().list(calendarId="primary", singleEvents=True, orderBy="startTime",
                               timeMin="2030-09-01T00:00:00Z", timeMax="2030-10-01T00:00:00Z").execute()["items"]
    assert [i["originalStartTime"]["dateTime"] for i in single] == [
        "2030-09-02T09:00:00-04:00", "2030-09-16T09:00:00-04:00", "2030-09-23T09:00:00-04:00"]


def test_split_and_exceptions_read_back_as_instances(svc):
    """What Bookline writes for "this / following": a moved and a cancelled instance
    (instance ids, originalStartTime), and a split (the old series ended with UNTIL, a
    new series from the chosen occurrence) — read with Google's client."""
    berlin = {"timeZone": "Europe/Berlin"}
    master = svc.events().insert(calendarId="primary", body={
        "summary": "Planning", "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=6"],
        "start": {"dateTime": "2031-03-10T10:00:00+01:00", **berlin},
        "end": {"dateTime": "2031-03-10T11:00:00+01:00", **berlin},
    }).execute()
    original = [i["originalStartTime"]["dateTime"] for i in svc.events().instances(
        calendarId="primary", eventId=master["id"]).execute()["items"]]
    # 10:00 local throughout, across the change to summer time on 2031-03-30.
    assert original == [
        "2031-03-10T10:00:00+01:00", "2031-03-17T10:00:00+01:00", "2031-03-24T10:00:00+01:00",
        "2031-03-31T10:00:00+02:00", "2031-04-07T10:00:00+02:00", "2031-04-14T10:00:00+02:00"]
    # This: the 2nd moved by its instance id, the 3rd cancelled.
    moved = svc.events().patch(calendarId="primary", eventId=master["id"] + "_20310317T090000Z", body={
        "summary": "Planning (moved)",
        "start": {"dateTime": "2031-03-17T14:00:00+01:00", **berlin},
        "end": {"dateTime": "2031-03-17T15:00:00+01:00", **berlin},
    }).execute()
    assert moved["recurringEventId"] == master["id"]
    assert moved["originalStartTime"]["dateTime"] == "2031-03-17T10:00:00+01:00"
    svc.events().delete(calendarId="primary", eventId=master["id"] + "_20310324T090000Z").execute()
    # Following from the 4th: UNTIL one second before it (UTC), a new series for the rest.
    svc.events().patch(calendarId="primary", eventId=master["id"], body={
        "recurrence": ["RRULE:FREQ=WEEKLY;UNTIL=20310331T075959Z"]}).execute()
    following = svc.events().insert(calendarId="primary", body={
        "summary": "Planning (new)", "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"],
        "start": {"dateTime": "2031-03-31T10:00:00+02:00", **berlin},
        "end": {"dateTime": "2031-03-31T11:00:00+02:00", **berlin},
    }).execute()

    old = svc.events().instances(calendarId="primary", eventId=master["id"],
                                 showDeleted=True).execute()["items"]
    assert [(i["originalStartTime"]["dateTime"], i["status"], i["start"]["dateTime"]) for i in old] == [
        ("2031-03-10T10:00:00+01:00", "confirmed", "2031-03-10T10:00:00+01:00"),
        ("2031-03-17T10:00:00+01:00", "confirmed", "2031-03-17T14:00:00+01:00"),
        ("2031-03-24T10:00:00+01:00", "cancelled", "2031-03-24T10:00:00+01:00"),
    ]
    assert [i["id"] for i in old][1:] == [
        master["id"] + "_20310317T090000Z", master["id"] + "_20310324T090000Z"]
    new = svc.events().instances(calendarId="primary", eventId=following["id"]).execute()["items"]
    assert all(i["recurringEventId"] == following["id"] for i in new)
    # Together the two series hold the original occurrences.
    together = [i["originalStartTime"]["dateTime"] for i in old + new]
    assert together == original
    # Two series in the calendar, the moved instance listed with its series.
    listed = svc.events().list(calendarId="primary", timeMin="2031-03-01T00:00:00Z",
                               timeMax="2031-05-01T00:00:00Z").execute()["items"]
    assert sorted(e["id"] for e in listed if "recurrence" in e) == sorted([master["id"], following["id"]])
    single = svc.events().list(calendarId="primary", singleEvents=True, orderBy="startTime",
                               timeMin="2031-03-01T00:00:00Z", timeMax="2031-05-01T00:00:00Z").execute()["items"]
    assert [(i["start"]["dateTime"], i["summary"]) for i in single] == [
        ("2031-03-10T10:00:00+01:00", "Planning"),
        ("2031-03-17T14:00:00+01:00", "Planning (moved)"),
        ("2031-03-31T10:00:00+02:00", "Planning (new)"),
        ("2031-04-07T10:00:00+02:00", "Planning (new)"),
        ("2031-04-14T10:00:00+02:00", "Planning (new)"),
    ]


def test_server_errors_surface_as_http_error(svc):
    control("faults", {"fail_next": 2, "kinds": ["backend_503", "rate_limit_429"]})
    for status, reason in [(503, "backendError"), (429, "rateLimitExceeded")]:
        with pytest.raises(HttpError) as e:
            svc.events().list(calendarId="primary").execute()
        assert (e.value.status_code, reason_of(e.value)) == (status, reason)
    # With retries enabled the client recovers from a transient 503.
    control("faults", {"fail_next": 1, "kinds": ["backend_503"]})
    assert svc.events().list(calendarId="primary").execute(num_retries=2)["kind"] == "calendar#events"
    control("faults", {})


def test_quota_user_rate_limit(svc):
    control("quota", {"per_user_per_minute": 2, "per_project_per_minute": 0, "window_ms": 60000})
    try:
        svc.calendars().get(calendarId="primary").execute()
        svc.calendars().get(calendarId="primary").execute()
        with pytest.raises(HttpError) as e:
            svc.calendars().get(calendarId="primary").execute()
        assert (e.value.status_code, reason_of(e.value)) == (403, "userRateLimitExceeded")
    finally:
        control("quota", {"per_user_per_minute": 0, "per_project_per_minute": 0, "window_ms": 60000})


def test_google_auth_refreshes_against_the_token_endpoint(account):
    creds = Credentials(
        token=None,
        refresh_token=account["refresh_token"],
        token_uri=BASE + "/token",
        client_id="py-client",
        client_secret="py-secret",
    )
    creds.refresh(google_auth_httplib2.Request(httplib2.Http()))
    assert creds.token and creds.token != account["access_token"]
    svc = service_for(creds.token)
    assert svc.calendars().get(calendarId="primary").execute()["id"] == account["calendar_id"]


def stats():
    return json.loads(urllib.request.urlopen(BASE + "/_emulator/stats").read())


def test_calendars_insert_and_delete(svc, account):
    cal = svc.calendars().insert(body={"summary": "Bookline", "timeZone": "Europe/Paris"}).execute()
    assert cal["kind"] == "calendar#calendar"
    assert cal["id"].endswith("@group.calendar.google.com")
    assert cal["timeZone"] == "Europe/Paris"
    entries = {c["id"]: c for c in svc.calendarList().list().execute()["items"]}
    assert entries[cal["id"]]["accessRole"] == "owner"
    assert svc.calendars().get(calendarId=cal["id"]).execute()["summary"] == "Bookline"
    assert svc.calendars().delete(calendarId=cal["id"]).execute() == ""
    with pytest.raises(HttpError) as e:
        svc.calendars().get(calendarId=cal["id"]).execute()
    assert (e.value.status_code, reason_of(e.value)) == (404, "notFound")
    for name in ("primary", account["calendar_id"]):
        with pytest.raises(HttpError) as e:
            svc.calendars().delete(calendarId=name).execute()
        assert (e.value.status_code, reason_of(e.value)) == (403, "cannotDeletePrimaryCalendar")
    with pytest.raises(HttpError) as e:
        svc.calendars().insert(body={"timeZone": "UTC"}).execute()
    assert (e.value.status_code, reason_of(e.value)) == (400, "required")


def test_events_move(svc, account):
    dest = svc.calendars().insert(body={"summary": "Bookline", "timeZone": "UTC"}).execute()["id"]
    ev = svc.events().insert(calendarId="primary", sendUpdates="none",
                             body=timed("Call", "2030-08-01T10:00:00Z", "2030-08-01T11:00:00Z", id="pmove00001")).execute()
    r = svc.events().list(calendarId="primary").execute()
    src_token = r["nextSyncToken"]
    dst_token = svc.events().list(calendarId=dest).execute()["nextSyncToken"]
    moved = svc.events().move(calendarId="primary", eventId="pmove00001", destination=dest, sendUpdates="none").execute()
    assert moved["id"] == "pmove00001"
    assert moved["etag"] != ev["etag"]
    assert moved["organizer"]["email"] == dest
    assert svc.events().get(calendarId=dest, eventId="pmove00001").execute()["summary"] == "Call"
    src = svc.events().list(calendarId="primary", syncToken=src_token).execute()["items"]
    assert [(i["id"], i["status"]) for i in src] == [("pmove00001", "cancelled")]
    dst = svc.events().list(calendarId=dest, syncToken=dst_token).execute()["items"]
    assert [(i["id"], i["status"]) for i in dst] == [("pmove00001", "confirmed")]
    with pytest.raises(HttpError) as e:
        svc.events().move(calendarId="primary", eventId="pmove00001", destination=dest).execute()
    assert (e.value.status_code, reason_of(e.value)) == (404, "notFound")
    with pytest.raises(HttpError) as e:
        svc.events().move(calendarId=dest, eventId="pmove00001", destination="nobody@example.com").execute()
    assert (e.value.status_code, reason_of(e.value)) == (404, "notFound")
    # Back to the primary calendar named by its id.
    back = svc.events().move(calendarId=dest, eventId="pmove00001", destination=account["calendar_id"]).execute()
    assert back["organizer"]["email"] == account["calendar_id"]
    assert svc.events().get(calendarId="primary", eventId="pmove00001").execute()["status"] == "confirmed"


def test_events_move_refuses_instances(svc):
    dest = svc.calendars().insert(body={"summary": "Bookline"}).execute()["id"]
    master = svc.events().insert(calendarId="primary", body={
        "summary": "Weekly", "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"],
        "start": {"dateTime": "2030-09-02T09:00:00Z", "timeZone": "UTC"},
        "end": {"dateTime": "2030-09-02T09:30:00Z", "timeZone": "UTC"},
    }).execute()
    inst = svc.events().instances(calendarId="primary", eventId=master["id"]).execute()["items"]
    with pytest.raises(HttpError) as e:
        svc.events().move(calendarId="primary", eventId=inst[1]["id"], destination=dest).execute()
    assert (e.value.status_code, reason_of(e.value)) == (400, "cannotChangeOrganizerOfInstance")
    svc.events().move(calendarId="primary", eventId=master["id"], destination=dest).execute()
    assert len(svc.events().instances(calendarId=dest, eventId=master["id"]).execute()["items"]) == 3


def test_stats_count_writes_by_send_updates(svc):
    before = stats()["send_updates"]
    svc.events().insert(calendarId="primary", sendUpdates="none",
                        body=timed("a", "2030-08-01T10:00:00Z", "2030-08-01T11:00:00Z", id="psend00001")).execute()
    svc.events().patch(calendarId="primary", eventId="psend00001", sendUpdates="all", body={"summary": "b"}).execute()
    svc.events().delete(calendarId="primary", eventId="psend00001").execute()
    after = stats()["send_updates"]
    delta = {k: after[k] - before[k] for k in ("none", "all", "externalOnly", "missing")}
    assert delta == {"none": 1, "all": 1, "externalOnly": 0, "missing": 1}


# --- Issue #17 "Book with the lead" -------------------------------------------------------


def outbox_for(calendar_id):
    return [m for m in stats()["mail_outbox"] if m["calendar_id"] == calendar_id]


def test_mail_outbox_records_only_writes_that_would_email(svc, account):
    me = account["calendar_id"]
    guests = [{"email": me}, {"email": "ada@lead.com", "displayName": "Ada"}]
    quiet = svc.events().insert(
        calendarId="primary",
        body=timed("Quiet", "2030-06-01T10:00:00Z", "2030-06-01T11:00:00Z", attendees=guests),
        sendUpdates="none",
    ).execute()
    svc.events().patch(calendarId="primary", eventId=quiet["id"], body={"summary": "Still quiet"}).execute()
    assert outbox_for(me) == []
    invited = svc.events().insert(
        calendarId="primary",
        body=timed("Demo call", "2030-06-02T10:00:00Z", "2030-06-02T11:00:00Z", attendees=guests),
        sendUpdates="all",
    ).execute()
    svc.events().patch(
        calendarId="primary", eventId=invited["id"], body={"location": "Room 1"}, sendUpdates="all"
    ).execute()
    svc.events().delete(calendarId="primary", eventId=invited["id"], sendUpdates="all").execute()
    # Batch items count one by one.
    batch = BatchHttpRequest(batch_uri=BASE + "/batch/calendar/v3")
    batch.add(svc.events().insert(
        calendarId="primary",
        body=timed("In a batch", "2030-06-03T10:00:00Z", "2030-06-03T11:00:00Z", attendees=guests),
        sendUpdates="externalOnly",
    ))
    batch.execute()
    got = [(m["method"], m["event_id"] == invited["id"], m["recipients"], m["kind"]) for m in outbox_for(me)]
    assert got == [
        ("insert", True, ["ada@lead.com"], "invitation"),
        ("patch", True, ["ada@lead.com"], "update"),
        ("delete", True, ["ada@lead.com"], "cancellation"),
        ("insert", False, ["ada@lead.com"], "invitation"),
    ]
    assert outbox_for(me)[-1]["send_updates"] == "externalOnly"


def test_attendees_answer_and_sync_token_sees_it(svc, account):
    me = account["calendar_id"]
    ev = svc.events().insert(
        calendarId="primary",
        body=timed("Demo call", "2030-06-04T10:00:00Z", "2030-06-04T10:30:00Z",
                   attendees=[{"email": me}, {"email": "ada@lead.com", "displayName": "Ada"}]),
        sendUpdates="all",
    ).execute()
    assert ev["attendees"] == [
        {"email": me, "responseStatus": "needsAction", "organizer": True, "self": True},
        {"email": "ada@lead.com", "displayName": "Ada", "responseStatus": "needsAction"},
    ]
    _, sync = full_sync(svc)
    answered = control("respond", {"calendar_id": "primary", "event_id": ev["id"],
                                   "email": "ada@lead.com", "response": "declined", "comment": "Busy"})
    assert answered["sequence"] == ev["sequence"]
    assert answered["etag"] != ev["etag"]
    changed = svc.events().list(calendarId="primary", syncToken=sync).execute()["items"]
    assert [e["id"] for e in changed] == [ev["id"]]
    assert changed[0]["attendees"][1]["responseStatus"] == "declined"
    assert changed[0]["attendees"][1]["comment"] == "Busy"
    with pytest.raises(urllib.error.HTTPError) as e:
        control("respond", {"calendar_id": "primary", "event_id": ev["id"],
                            "email": "nobody@lead.com", "response": "accepted"})
    assert e.value.code == 404


MEET_REQUEST = {"createRequest": {"requestId": "py-req-1", "conferenceSolutionKey": {"type": "hangoutsMeet"}}}


def test_conference_creation_and_faults(svc, account):
    body = timed("Demo call", "2030-06-05T10:00:00Z", "2030-06-05T10:30:00Z",
                 attendees=[{"email": "ada@lead.com"}], conferenceData=MEET_REQUEST)
    ev = svc.events().insert(calendarId="primary", body=body, conferenceDataVersion=1, sendUpdates="all").execute()
    link = ev["hangoutLink"]
    code = link.removeprefix("https://meet.google.com/")
    assert [len(p) for p in code.split("-")] == [3, 4, 3] and code.replace("-", "").islower()
    cd = ev["conferenceData"]
    assert cd["createRequest"]["status"]["statusCode"] == "success"
    assert cd["entryPoints"] == [{"entryPointType": "video", "uri": link, "label": "meet.google.com/" + code}]
    assert cd["conferenceSolution"]["name"] == "Google Meet"
    assert cd["conferenceId"] == code
    # The same request again is the same conference; a client without version 1 keeps it.
    same = svc.events().patch(calendarId="primary", eventId=ev["id"], body={"conferenceData": MEET_REQUEST},
                              conferenceDataVersion=1).execute()
    assert same["hangoutLink"] == link
    kept = svc.events().patch(calendarId="primary", eventId=ev["id"], body={"summary": "Renamed"}).execute()
    assert kept["hangoutLink"] == link
    plain = svc.events().insert(calendarId="primary", body=body).execute()
    assert "conferenceData" not in plain and "hangoutLink" not in plain
    with pytest.raises(HttpError) as e:
        svc.events().insert(calendarId="primary", body=dict(body, conferenceData={
            "createRequest": {"requestId": "z", "conferenceSolutionKey": {"type": "addOn"}}}),
            conferenceDataVersion=1).execute()
    assert (e.value.status_code, reason_of(e.value)) == (400, "invalid")
    # Google fails to create one, then one is pending until the plan says success.
    try:
        control("faults", {"conference": "failure"})
        failed = svc.events().insert(calendarId="primary", body=body, conferenceDataVersion=1).execute()
        assert failed["conferenceData"]["createRequest"]["status"]["statusCode"] == "failure"
        assert "hangoutLink" not in failed and "entryPoints" not in failed["conferenceData"]
        control("faults", {"conference": "pending"})
        waiting = svc.events().insert(calendarId="primary", body=body, conferenceDataVersion=1).execute()
        assert waiting["conferenceData"]["createRequest"]["status"]["statusCode"] == "pending"
        assert "hangoutLink" not in waiting
    finally:
        cleared = control("faults", {})
    assert cleared["conferences_completed"] == 1
    done = svc.events().get(calendarId="primary", eventId=waiting["id"]).execute()
    assert done["hangoutLink"].startswith("https://meet.google.com/")
    assert done["etag"] != waiting["etag"]


def test_free_busy_query(svc, account):
    me = account["calendar_id"]
    for s, e, extra in [
        ("2030-06-06T09:00:00Z", "2030-06-06T10:00:00Z", {}),
        ("2030-06-06T10:00:00Z", "2030-06-06T11:00:00Z", {}),
        ("2030-06-06T12:00:00Z", "2030-06-06T13:00:00Z", {"transparency": "transparent"}),
        ("2030-06-06T14:00:00+02:00", "2030-06-06T15:00:00+02:00", {}),
    ]:
        svc.events().insert(calendarId="primary", body=timed("x", s, e, **extra), sendUpdates="none").execute()
    answer = svc.freebusy().query(body={
        "timeMin": "2030-06-06T00:00:00Z", "timeMax": "2030-06-07T00:00:00Z", "timeZone": "UTC",
        "items": [{"id": "primary"}, {"id": me}, {"id": "stranger@example.com"}],
    }).execute()
    assert answer["kind"] == "calendar#freeBusy"
    busy = [{"start": "2030-06-06T09:00:00Z", "end": "2030-06-06T11:00:00Z"},
            {"start": "2030-06-06T12:00:00Z", "end": "2030-06-06T13:00:00Z"}]
    assert answer["calendars"]["primary"] == {"busy": busy}
    assert answer["calendars"][me] == {"busy": busy}
    assert answer["calendars"]["stranger@example.com"]["errors"][0]["reason"] == "notFound"
    with pytest.raises(HttpError) as e:
        svc.freebusy().query(body={"timeMin": "2030-06-06T00:00:00Z", "timeMax": "2030-06-06T00:00:00Z",
                                   "items": [{"id": "primary"}]}).execute()
    assert (e.value.status_code, reason_of(e.value)) == (400, "timeRangeEmpty")
    with pytest.raises(HttpError) as e:
        svc.freebusy().query(body={"timeMin": "2030-06-06T00:00:00Z", "timeMax": "2030-06-07T00:00:00Z",
                                   "items": [{"id": f"c{n}@example.com"} for n in range(51)]}).execute()
    assert (e.value.status_code, reason_of(e.value)) == (400, "tooManyCalendarsRequested")


def test_free_busy_scope(account):
    events_only = control("accounts", {"email": account["email"],
                                       "scope": "https://www.googleapis.com/auth/calendar.events"})
    body = {"timeMin": "2030-06-06T00:00:00Z", "timeMax": "2030-06-07T00:00:00Z", "items": [{"id": "primary"}]}
    with pytest.raises(HttpError) as e:
        service_for(events_only["access_token"]).freebusy().query(body=body).execute()
    assert (e.value.status_code, reason_of(e.value)) == (403, "insufficientPermissions")
    with_busy = control("accounts", {"email": account["email"], "scope": (
        "https://www.googleapis.com/auth/calendar.events https://www.googleapis.com/auth/calendar.events.freebusy")})
    assert service_for(with_busy["access_token"]).freebusy().query(body=body).execute()["calendars"]["primary"] == {"busy": []}
