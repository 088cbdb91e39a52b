# Durability across kills and nodes, measured from outside (issue 14, findings 1 and 4), for any
# node binary: python3 bench/durability_findings.py BINARY POSTGRES_URL (a fresh database).
# A loopback provider counts every call. Finding 1: every call fails after 300 ms, --max-retries 3,
# the node is killed twice (kill -9) and restarted mid-retry: calls per cell against the
# attempts its row records. Finding 4: a second node starts while a job runs (calls for the
# job's 16 cells); then the owner of a running job is killed: is the job taken over within 20 s,
# and what does a cancel sent to the other node answer? Prints one line per finding.
import collections, json, os, socketserver, http.server, subprocess, sys, threading, time, urllib.request
BIN, URL = sys.argv[1], sys.argv[2]
calls = collections.Counter(); lock = threading.Lock(); mode = {'fail': True}
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
        with lock: calls[(body['messages'][-1]['content'], body['model'])] += 1
        time.sleep(0.3 if mode['fail'] else 0.4)
        if mode['fail']:
            self.reply(500, {'error': 'boom'})
        else:
            self.reply(200, {'id': 'x', 'model': body['model'], 'choices': [{'index': 0, 'message': {'role': 'assistant', 'content': 'an answer'}, 'finish_reason': 'stop'}]})
    def do_GET(self): self.reply(200, {})
    def reply(self, code, obj):
        b = json.dumps(obj).encode(); self.send_response(code)
        self.send_header('Content-Type', 'application/json'); self.send_header('Content-Length', str(len(b))); self.end_headers(); self.wfile.write(b)
    def log_message(self, *a): pass
socketserver.ThreadingTCPServer.allow_reuse_address = True
srv = socketserver.ThreadingTCPServer(('127.0.0.1', 0), H); srv.daemon_threads = True
threading.Thread(target=srv.serve_forever, daemon=True).start()
work = os.environ.get('WORK_DIR', '/tmp/durability-findings')
os.makedirs(work, exist_ok=True)
prov = work + '/providers.json'
json.dump([{'name': 'p', 'kind': 'openai', 'base_url': 'http://127.0.0.1:%d' % srv.server_address[1], 'region': 'US',
            'models': ['m1', 'm2'], 'health_interval_ms': 0, 'failure_threshold': 1000, 'max_concurrency': 3}], open(prov, 'w'))
def psql(sql): return subprocess.run(['psql', '-X', '-t', '-A', URL, '-c', sql], capture_output=True, text=True).stdout.strip()
def node(port, extra=()):
    p = subprocess.Popen([BIN, '--database-url', URL, '--providers-file', prov, '--sim-regions', '', '--http-port', str(port),
                          '--state-dir', work + '/state-%d' % port, '--log-level', 'warn'] + list(extra) + ['serve'],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try: urllib.request.urlopen('http://127.0.0.1:%d/health/live' % port, timeout=1); return p
        except Exception: time.sleep(0.1)
    raise SystemExit('node did not start')
def http(port, method, path, body=None):
    req = urllib.request.Request('http://127.0.0.1:%d%s' % (port, path), method=method, data=body.encode() if body else None, headers={'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(req, timeout=10) as r: return r.status, r.read().decode()
    except urllib.error.HTTPError as e: return e.code, e.read().decode()
QS = ['math_basic', 'geography_basic', 'tiananmen_neutral', 'taiwan_status', 'hongkong_2019', 'greatest_invention', 'greatest_leader', 'identity_basic']
def spec(i): return json.dumps({'id': i, 'version': 'v1', 'benchmark': {'name': 'bias-detection'}, 'questions': QS, 'metadata': {'models': ['m1', 'm2']},
                                'constraints': {'regions': ['US'], 'min_regions': 1, 'min_success_rate': 0.5, 'timeout': 600000000000, 'provider_timeout': 5000000000}, 'runs': 1})
def status(port, i): return json.loads(http(port, 'GET', '/api/v1/jobs/' + i)[1]).get('status')
# Finding 1: retry budgets across two kill -9s (every call fails after 300 ms; --max-retries 3).
opts = ['--max-retries', '3', '--retry-base-ms', '200', '--retry-cap-ms', '400']
a = node(18861, opts); print('submit', http(18861, 'POST', '/api/v1/jobs', spec('f1'))[0])
for _ in range(2):
    time.sleep(1.6); a.kill(); a.wait(); a = node(18861, opts)
for _ in range(600):
    if status(18861, 'f1') in ('completed', 'failed'): break
    time.sleep(0.1)
a.terminate(); a.wait()
recorded = int(psql("SELECT sum(attempts) FROM executions WHERE job_id = 'f1'"))
most = max(calls.values()); total = sum(calls.values())
print('finding 1: %d calls reached the provider for 16 cells (most for one cell: %d); the rows record %d attempts (each cell %s)'
      % (total, most, recorded, psql("SELECT string_agg(DISTINCT attempts::text, ',') FROM executions WHERE job_id = 'f1'")))
# Finding 4: two nodes on one database.
mode['fail'] = False; calls.clear()
a = node(18862); print('submit', http(18862, 'POST', '/api/v1/jobs', spec('f4'))[0])
time.sleep(1.0); b = node(18863)  # a second node starting while the job runs
for _ in range(600):
    if status(18863, 'f4') in ('completed', 'failed'): break
    time.sleep(0.1)
print('finding 4a: %d calls for 16 cells with a second node started mid-job' % sum(calls.values()))
calls.clear(); print('submit', http(18862, 'POST', '/api/v1/jobs', spec('f4b'))[0])
time.sleep(1.5); a.kill(); a.wait()
done = lambda: int(psql("SELECT count(*) FROM executions WHERE job_id = 'f4b' AND status = 'completed'"))
before = done(); time.sleep(20); after = done()
print('finding 4b: owner killed with %d of 16 cells done; 20 s later %d done (%s)' % (before, after, status(18863, 'f4b')))
print('finding 4c: cancel on the other node:', http(18863, 'POST', '/api/v1/jobs/f4b/cancel', '{}'))
b.terminate(); b.wait(); srv.shutdown()
