#!/usr/bin/env python3
# The Google screens of the mock build in WebKitGTK — the engine Tauri uses on Linux —
# through WebKitWebDriver + MiniBrowser: connect, settings, synchronize with progress and
# summary, activity, remove. Serves dist-mock with the app's strict CSP. Screenshots go to
# ui/screenshots/webkit-*.png.
#
#   npm run build:mock && xvfb-run -a python3 scripts/webkit-check.py
import base64, functools, http.server, json, os, subprocess, sys, threading, time, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, '..', 'dist-mock')
OUT = os.path.join(HERE, '..', 'screenshots')
os.makedirs(OUT, exist_ok=True)
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
WD_PORT = 18932
driver = subprocess.Popen(['WebKitWebDriver', f'--port={WD_PORT}'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(1.5)
B=f'http://127.0.0.1:{WD_PORT}'
def req(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    r = urllib.request.Request(B+path, data=data, method=method, headers={'Content-Type':'application/json'})
    with urllib.request.urlopen(r, timeout=60) as f:
        return json.loads(f.read())
caps={'capabilities':{'alwaysMatch':{'browserName':'MiniBrowser','webkitgtk:browserOptions':{'binary':'/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser','args':['--automation']}}}}
try:
    S='/session/' + req('POST','/session',caps)['value']['sessionId']
except Exception:
    driver.terminate()
    server.shutdown()
    raise
def js(code, *args): return req('POST',S+'/execute/sync',{'script':code,'args':list(args)})['value']
def click(tid):
    return js("const e=document.querySelector(`[data-testid=${arguments[0]}]`); if(!e) return false; e.click(); return true;", tid)
def wait(tid, t=15):
    end=time.time()+t
    while time.time()<end:
        if js("return !!document.querySelector(`[data-testid=${arguments[0]}]`)", tid): return True
        time.sleep(0.2)
    return False
def shot(name):
    png=req('GET',S+'/screenshot')['value']
    open(os.path.join(OUT, f'webkit-{name}.png'),'wb').write(base64.b64decode(png))
ok=True
def expect(c, what):
    global ok
    print(('ok   ' if c else 'FAIL ')+what); ok = ok and c
try:
    req('POST',S+'/window/rect',{'width':1280,'height':800})
    req('POST',S+'/url',{'url':SITE + '?rows=2000&connectDelay=1500'})
    expect(wait('appointment-row'), 'list loads in WebKitGTK')
    click('authenticate-google'); expect(wait('connect-google'),'connect page')
    click('connect-google'); expect(wait('connect-waiting') and wait('connect-url'),'waiting with URL')
    shot('connect-waiting')
    expect(wait('google-account'),'connected')
    time.sleep(0.5); shot('connected')
    click('sync-settings'); expect(wait('settings-direction'),'settings dialog')
    js("const s=document.querySelector('[data-testid=settings-direction]'); s.value='google-to-crm'; s.dispatchEvent(new Event('change',{bubbles:true}));")
    time.sleep(0.3)
    expect('no longer be sent' in (js("return document.querySelector('[data-testid=settings-changes]')?.textContent ?? ''")), 'change explained')
    shot('settings')
    js("document.querySelector('[data-testid=settings-dialog] button.btn:not(.primary)').click()")
    time.sleep(0.3)
    click('sync-google'); expect(wait('backfill-direction'),'backfill dialog')
    click('backfill-preview-button'); expect(wait('backfill-preview'),'preview')
    click('backfill-run'); expect(wait('backfill-progress'),'progress')
    time.sleep(1.2); shot('backfill-progress')
    expect(wait('backfill-summary',30),'summary'); shot('backfill-summary'); click('backfill-done')
    time.sleep(0.3)
    click('tab-activity'); expect(wait('activity-entry'),'activity'); shot('activity')
    click('remove-google'); expect(wait('remove-confirm'),'remove page'); shot('remove')
    click('remove-confirm'); expect(wait('remove-report'),'remove report')
finally:
    req('DELETE',S)
    driver.terminate()
    server.shutdown()
sys.exit(0 if ok else 1)
