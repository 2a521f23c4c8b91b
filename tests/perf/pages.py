#!/usr/bin/env python3
"""Times the workspace's pages with many conversations in the database.

Starts `relais demo` (release build recommended), fills it through the REST channel
with N customers who each ask for an agent (so they wait in the queues, with their
transcripts), signs in as the demo admin and fetches each page R times, printing the
median and p90 in milliseconds (loopback: the time is the server's).

    python3 tests/perf/pages.py --bin target/release/relais --conversations 10000
"""
import argparse, concurrent.futures, http.cookiejar, json, os, socket, statistics, subprocess
import tempfile, time, urllib.parse, urllib.request

p = argparse.ArgumentParser()
p.add_argument("--bin", default="target/release/relais")
p.add_argument("--conversations", type=int, default=10000)
p.add_argument("--repeat", type=int, default=30)
a = p.parse_args()

s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
data = tempfile.mkdtemp(prefix="relais-pages-")
server = subprocess.Popen([a.bin, "demo", "--json", "--data", data, "--listen", f"127.0.0.1:{port}"],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
demo = json.loads(server.stdout.readline())
url, creds = demo["url"], demo["credentials"]
try:
    def converse(i):
        body = json.dumps({"sender": f"+3360{i:07d}", "name": f"Client {i}",
                           "text": f"je veux parler à un conseiller, commande A{i:05d}"}).encode()
        req = urllib.request.Request(f"{url}/api/v1/channels/demo/converse", data=body, method="POST",
                                     headers={"Authorization": f"Bearer {creds['channel_token']}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req) as r:
            r.read()
    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        list(pool.map(converse, range(a.conversations)))
    print(f"filled {a.conversations} conversations in {time.time() - t0:.1f} s")

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = urllib.parse.urlencode({"email": creds["admin_email"], "password": creds["admin_password"]}).encode()
    opener.open(urllib.request.Request(f"{url}/login", data=form, method="POST"))
    pages = ["/inbox", "/inbox?view=all", "/inbox?view=unassigned", "/inbox?view=my_teams",
             "/inbox?view=all&q=A09999", "/inbox?view=all&q=Client%205000", "/inbox?view=all&channel=demo&status=open",
             f"/conversations/{a.conversations // 2}", "/agents", "/teams", "/channels", "/flows",
             "/flows/order-status"]
    print(f"{'page':45} {'median ms':>10} {'p90 ms':>8}")
    for page in pages:
        times = []
        for _ in range(a.repeat):
            t = time.perf_counter()
            with opener.open(f"{url}{page}") as r:
                r.read()
                assert r.status == 200, (page, r.status)
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        print(f"{page:45} {statistics.median(times):10.1f} {times[int(len(times) * 0.9) - 1]:8.1f}")
finally:
    server.kill()
