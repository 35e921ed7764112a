#!/usr/bin/env python3
# Booking with the lead (#17) in the mock build, in WebKitGTK (Tauri's engine on Linux):
# the Add dialog with Google Meet, the invitation notice and a busy overlap warning, and a
# declined appointment raised in the list. Checks what it shows and writes the
# screenshots to docs/ (repository root).
#
#   npm run build:mock && xvfb-run -a python3 scripts/booking-shots.py
import base64, datetime, functools, http.server, json, os, subprocess, sys, threading, time, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, '..', 'dist-mock')
OUT = os.path.join(HERE, '..', '..', 'docs')
CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'"


class Handler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self):
        self.send_header('Content-Security-Policy', CSP)
        super().end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Handler, directory=ROOT))
threading.Thread(target=server.serve_forever, daemon=True).start()
SITE = f'http://127.0.0.1:{server.server_address[1]}/'
WD_PORT = 18933
driver = subprocess.Popen(['WebKitWebDriver', f'--port={WD_PORT}'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(1.5)
B = f'http://127.0.0.1:{WD_PORT}'


def req(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    r = urllib.request.Request(B + path, data=data, method=method, headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(r, timeout=60) as f:
        return json.loads(f.read())


caps = {'capabilities': {'alwaysMatch': {'browserName': 'MiniBrowser', 'webkitgtk:browserOptions': {
    'binary': '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser', 'args': ['--automation']}}}}
try:
    S = '/session/' + req('POST', '/session', caps)['value']['sessionId']
except Exception:
    driver.terminate()
    server.shutdown()
    raise


def js(code, *args):
    return req('POST', S + '/execute/sync', {'script': code, 'args': list(args)})['value']


def click(tid):
    return js("const e=document.querySelector(`[data-testid=${arguments[0]}]`); if(!e) return false; e.click(); return true;", tid)


def wait(tid, t=15):
    end = time.time() + t
    while time.time() < end:
        if js("return !!document.querySelector(`[data-testid=${arguments[0]}]`)", tid):
            return True
        time.sleep(0.2)
    return False


def text(tid):
    return js("return document.querySelector(`[data-testid=${arguments[0]}]`)?.textContent ?? ''", tid)


def wait_text(tid, needle, t=15):
    end = time.time() + t
    while time.time() < end:
        if needle in text(tid):
            return True
        time.sleep(0.2)
    return False


def set_value(tid, value):
    js("""const e=document.querySelector(`[data-testid=${arguments[0]}]`); e.value=arguments[1];
          e.dispatchEvent(new Event('input',{bubbles:true})); e.dispatchEvent(new Event('change',{bubbles:true}));""", tid, value)


def shot(name):
    png = req('GET', S + '/screenshot')['value']
    open(os.path.join(OUT, name), 'wb').write(base64.b64decode(png))
    print(f'     wrote docs/{name}')


ok = True


def expect(c, what):
    global ok
    print(('ok   ' if c else 'FAIL ') + what)
    ok = ok and c


try:
    req('POST', S + '/window/rect', {'width': 1280, 'height': 1000})
    req('POST', S + '/url', {'url': SITE + '?rows=400&google=connected&meet=1'})
    expect(wait('appointment-row'), 'the list loads')
    expect(wait('row-response'), 'lead answers show in the list')
    declined = js("return document.querySelectorAll('[data-testid=appointment-row].is-declined').length")
    expect(declined >= 1, f'a declined appointment is raised in the list ({declined})')
    badge = js("return document.querySelector('[data-testid=appointment-row].is-declined [data-testid=row-response]')?.textContent ?? ''")
    expect(badge == 'Declined', f'its badge says Declined ({badge!r})')
    expect(wait('meet-join'), 'Meet links have Join and Copy in the list')
    shot('booking-declined-in-list.png')

    click('add-appointment')
    expect(wait('appointment-dialog'), 'the Add dialog opens')
    # The next weekday: the fake's synced calendar has a standing meeting 10:00-11:00 on weekdays.
    day = datetime.date.today() + datetime.timedelta(days=1)
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    set_value('field-title', 'Demo call — Lovelace')
    set_value('field-start-date', day.isoformat())
    set_value('field-start-time', '10:30')
    set_value('field-end-date', day.isoformat())
    set_value('field-end-time', '11:30')
    set_value('field-lead-name', 'Ada Lovelace')
    expect(js("return document.querySelector('[data-testid=field-invite]').disabled"), 'no invitation without a lead email')
    expect('email address' in text('invite-reason'), 'and the dialog says why')
    set_value('field-lead-email', 'ada@example.com')
    expect(js("return document.querySelector('[data-testid=field-meet]').checked"), 'Meet is ticked by the setting')
    click('field-invite')
    expect(wait_text('invitation-notice', 'Google will email ada@example.com an invitation from ana.silva@example.com.'), 'the invitation notice')
    # The 10:00-11:00 meeting, merged with any appointment of Bookline's in Google beside it.
    expect(wait_text('overlap-warning', 'Overlaps Busy ') and '11:00 in ana.silva@example.com.' in text('overlap-warning'), 'the overlap warning')
    js("document.querySelector('[data-testid=field-title]').blur()")
    time.sleep(0.4)
    shot('booking-dialog.png')
    click('dialog-close')
    time.sleep(0.3)

    # The three defaults in Calendar Sync Settings, and what a change means.
    click('sync-settings')
    expect(wait('settings-booking'), 'the booking defaults in the settings')
    expect(js("return document.querySelector('[data-testid=settings-meet-default]').checked"), 'Meet by default is on (?meet=1)')
    expect(not js("return document.querySelector('[data-testid=settings-invite-default]').checked"), 'inviting is off by default')
    reminder = js("const s=document.querySelector('[data-testid=settings-reminder]'); return s.options[s.selectedIndex].textContent")
    expect(reminder == "The calendar's default (set in Google)", f'no reminder of its own by default ({reminder!r})')
    js("const s=document.querySelector('[data-testid=settings-reminder]'); s.selectedIndex=[...s.options].findIndex(o=>o.textContent==='10 minutes before'); s.dispatchEvent(new Event('change',{bubbles:true}));")
    expect(wait_text('settings-changes', 'get a reminder 10 minutes before they start'), 'a new reminder is explained before saving')
    click('settings-save')
    time.sleep(0.5)
    click('sync-settings')
    expect(wait('settings-reminder'), 'the settings open again')
    time.sleep(0.3)
    reminder = js("const s=document.querySelector('[data-testid=settings-reminder]'); return s.options[s.selectedIndex].textContent")
    expect(reminder == '10 minutes before', f'the reminder was saved ({reminder!r})')
finally:
    req('DELETE', S)
    driver.terminate()
    server.shutdown()
sys.exit(0 if ok else 1)
