#!/usr/bin/env python3
"""The Nexus benchmark harness (run through `bench/run`, which prepares the database and the
release build). It drives the local runner over HTTP with wrk, runs the tickets-list SQL with
pgbench at the same concurrency, collects the in-process figures (SLA sweep, jobcard) and the
cold starts, and writes bench/RESULTS.md. It reports; it asserts nothing but that every request
it timed is counted, failures included (a row with failures says so)."""

import base64
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.path.join(ROOT, "target/release/nexus-local")
BASE = os.environ.get("BENCH_URL", "http://127.0.0.1:3900")
DATABASE_URL = os.environ.get("DATABASE_URL", "")
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONCURRENCY = [16, 64]


def log(message):
    print(message, file=sys.stderr, flush=True)


def http(method, path, token=None, body=None):
    request = urllib.request.Request(BASE + path, method=method, data=json.dumps(body).encode() if body else None)
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def login(email):
    return http("POST", "/api/auth/login", body={"email": email, "password": "nexus-demo-pass"})["access_token"]


def psql(sql):
    return subprocess.run(["psql", "-qAt", DATABASE_URL, "-c", sql], check=True, capture_output=True, text=True).stdout.strip()


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def to_ms(text):
    number, unit = re.match(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * UNITS[unit]


def wrk(path, connections, token, lua=None):
    """Runs wrk and returns {median, p99 (ms), rps}; any non-2xx answer aborts the harness."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{SECONDS}s", "--timeout", "30s", "--latency", "-H", f"Authorization: Bearer {token}"]
    if lua:
        command += ["-s", lua]
    output = subprocess.run(command + [BASE + path], check=True, capture_output=True, text=True).stdout
    # Failures are reported with the row, not hidden: a 503 (pool exhausted) is a finding.
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    failures = (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, socket.groups())) if socket else 0)
    total = int(re.search(r"(\d+) requests in", output).group(1))
    return {
        "failed": failures,
        "total": total,
        "median": to_ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1)),
        "p99": to_ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1)),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
    }


def lua_file(text):
    handle = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    handle.write(text)
    handle.close()
    return handle.name


def post_script(path, body):
    return lua_file(f'wrk.method = "POST"\nwrk.body = {json.dumps(json.dumps(body))}\n'
                    f'wrk.headers["Content-Type"] = "application/json"\nwrk.path = "{path}"\n')


def transition_script(ids):
    """Status transitions that can go on for any duration: each wrk thread owns half of `ids`
    (assigned tickets) and walks it in passes — assigned → in_progress, then on_hold ⇄
    in_progress — so no ticket is ever asked twice at once and every transition is valid."""
    return lua_file(
        "local ids = {" + ",".join(map(str, ids)) + "}\n"
        "local half = math.floor(#ids / 2)\n"
        "local threads = 0\n"
        "function setup(thread) thread:set('offset', threads * half); threads = threads + 1 end\n"
        "wrk.headers['Content-Type'] = 'application/json'\n"
        "local hold = '{\"status\": \"on_hold\", \"hold_reason\": \"awaiting_parts\"}'\n"
        "local resume = '{\"status\": \"in_progress\"}'\n"
        "local n = 0\n"
        "function request()\n"
        "  n = n + 1\n"
        # wrk asks each thread for one request it never sends: that first one gets a ticket of
        # its own, which the walk below never revisits.
        "  if n == 1 then return wrk.format('PUT', '/api/tickets/' .. ids[offset + 1], nil, resume) end\n"
        "  local k = n - 2\n"
        "  local pass = math.floor(k / (half - 1))\n"
        "  local id = ids[offset + 2 + k % (half - 1)]\n"
        "  local body = (pass % 2 == 1) and hold or resume\n"
        "  return wrk.format('PUT', '/api/tickets/' .. id, nil, body)\n"
        "end\n")


def pgbench(sql_path, connections, defines):
    command = ["pgbench", "-n", "-M", "prepared", f"-c{connections}", "-j2", f"-T{SECONDS}", "-f", sql_path]
    for name, value in defines.items():
        command += ["-D", f"{name}={value}"]
    output = subprocess.run(command + [DATABASE_URL], check=True, capture_output=True, text=True).stdout
    return {
        "tps": float(re.search(r"tps = ([\d.]+)", output).group(1)),
        "latency": float(re.search(r"latency average = ([\d.]+) ms", output).group(1)),
    }


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        return int(re.search(r"VmHWM:\s+(\d+) kB", status.read()).group(1)) / 1024


def cpu_ticks(pids):
    """utime + stime of `pids` (clock ticks, /proc/<pid>/stat fields 14 and 15); gone ones count 0."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def postgres_pids():
    """The PostgreSQL server's processes (the postmaster named by DATABASE_URL's port, and its children)."""
    port = re.search(r":(\d+)/", DATABASE_URL).group(1)
    master = subprocess.run(["pgrep", "-f", f"postgres.*-p {port}|postgres.*nexus-pg-{port}"],
                            capture_output=True, text=True).stdout.split()
    pids = set(master)
    for pid in master:
        pids.update(subprocess.run(["pgrep", "-P", pid], capture_output=True, text=True).stdout.split())
    return sorted(pids)


def list_cpu():
    """The tickets list alone: requests/s, and CPU per request of the server and of PostgreSQL
    (ticks from /proc before and after each wrk run), next to pgbench of the request's SQL."""
    runner_pid = int(os.environ["BENCH_RUNNER_PID"])
    admin = login("admin@example.com")
    active = "open,assigned,in_progress,on_hold,resolved"
    path = f"/api/tickets?status={active}&priority=high&region=Bali&limit=50"
    size = len(urllib.request.urlopen(urllib.request.Request(BASE + path, headers={"authorization": "Bearer " + admin})).read())
    claims = json.loads(base64.urlsafe_b64decode(admin.split(".")[1] + "=="))
    defines = {"statuses": "{" + active + "}", "priority": "high", "region": "Bali", "page": "51",
               "session": str(claims["sid"]), "user": str(claims["sub"])}
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        for part in ("bench/session-check.sql", "bench/tickets-list.sql"):
            script.write(open(os.path.join(ROOT, part)).read())
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    print(f"`GET {path}` ({size:,} bytes), {SECONDS} s per run; CPU from /proc (server pid {runner_pid}, "
          f"PostgreSQL's processes).\n")
    print("| connections | API requests/s | server CPU ms / request | PostgreSQL CPU ms / request "
          "| pgbench tps, list statement | pgbench tps, the request's SQL | API / list | API / request's SQL |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for connections in CONCURRENCY:
        pg = postgres_pids()
        before = (cpu_ticks([runner_pid]), cpu_ticks(pg))
        api = wrk(path, connections, admin)
        after = (cpu_ticks([runner_pid]), cpu_ticks(pg))
        server_ms = (after[0] - before[0]) * tick_ms / api["total"]
        pg_ms = (after[1] - before[1]) * tick_ms / api["total"]
        bench = pgbench(os.path.join(ROOT, "bench/tickets-list.sql"), connections, defines)
        whole = pgbench(script.name, connections, defines)
        print(f"| {connections} | {api['rps']:.0f} | {server_ms:.3f} | {pg_ms:.3f} | {bench['tps']:.0f} "
              f"| {whole['tps']:.0f} | {api['rps'] / bench['tps']:.2f} | {api['rps'] / whole['tps']:.2f} |")


def main():
    runner_pid = int(os.environ["BENCH_RUNNER_PID"])
    admin = login("admin@example.com")
    region = "Bali"
    active = "open,assigned,in_progress,on_hold,resolved"
    first = http("GET", f"/api/tickets?status={active}&priority=high&region={region}&limit=50", admin)
    page = first
    for _ in range(20):  # a deep page: 20 pages in
        if not page["next_cursor"]:
            break
        cursor = page["next_cursor"]
        page = http("GET", f"/api/tickets?status={active}&priority=high&region={region}&limit=50&cursor={cursor}", admin)
    some_ticket = first["items"][0]["id"]
    asset = int(psql("SELECT id FROM assets WHERE tag LIKE 'DEV-%' AND status = 'active' ORDER BY id LIMIT 1"))

    list_query = f"/api/tickets?status={active}&priority=high&region={region}&limit=50"
    scenarios = [
        ("GET /api/tickets (active, high, one region), first page", list_query, None),
        ("GET /api/tickets, same filter, 20 pages deep (cursor)", f"{list_query}&cursor={cursor}", None),
        ("GET /api/tickets/{id}", f"/api/tickets/{some_ticket}", None),
        ("POST /api/tickets", "/api/tickets",
         post_script("/api/tickets", {"asset_id": asset, "ticket_type": "CM", "priority": "medium",
                                      "description": "Benchmark ticket"})),
        ("PUT /api/tickets/{id} status (in_progress ⇄ on_hold)", "/api/tickets/0", "transition"),
        ("POST /api/auth/login (argon2id, m=19 MiB, t=2)", "/api/auth/login",
         post_script("/api/auth/login", {"email": "technician-0001@fleet.example.com", "password": "nexus-demo-pass"})),
        ("GET /api/maps/live-tickets unclustered (Jakarta viewport)",
         "/api/maps/live-tickets?bbox=106.80,-6.25,106.88,-6.17", None),
        ("GET /api/maps/live-tickets clustered, zoom 5 (national)", "/api/maps/live-tickets?cluster=true&zoom=5", None),
        ("GET /api/maps/live-tickets clustered, zoom 12 (Jakarta)",
         "/api/maps/live-tickets?cluster=true&zoom=12&bbox=106.6,-6.4,107.0,-6.0", None),
    ]
    rows = []
    for label, path, lua in scenarios:
        for connections in CONCURRENCY:
            script = lua
            if lua == "transition":  # fresh assigned tickets each run: the walk starts from assigned
                ids = [int(x) for x in psql("SELECT id FROM tickets WHERE status = 'assigned' AND number LIKE 'GEN-%' "
                                            "ORDER BY id LIMIT 4000").split()]
                if len(ids) < 400:
                    raise SystemExit("too few assigned tickets left for the transition run: generate more tickets")
                script = transition_script(ids)
            log(f"wrk {label} c={connections}")
            rows.append((label, connections, wrk(path, connections, admin, script)))

    # The physical limit: the list's own SQL through pgbench, same concurrency, same database.
    claims = json.loads(base64.urlsafe_b64decode(admin.split(".")[1] + "=="))
    defines = {"statuses": "{" + active + "}", "priority": "high", "region": region, "page": "51",
               "session": str(claims["sid"]), "user": str(claims["sub"])}
    # One pgbench transaction = one request's SQL: the session check, then the list statement.
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        for part in ("bench/session-check.sql", "bench/tickets-list.sql"):
            script.write(open(os.path.join(ROOT, part)).read())
    request_sql = script.name
    limits = []
    for connections in CONCURRENCY:
        log(f"pgbench tickets list c={connections}")
        bench = pgbench(os.path.join(ROOT, "bench/tickets-list.sql"), connections, defines)
        whole = pgbench(request_sql, connections, defines)
        api = next(r for (l, c, r) in rows if l.startswith("GET /api/tickets (") and c == connections)
        limits.append((connections, bench, api, whole))

    rss = peak_rss_mb(runner_pid)
    print(json.dumps({"rows": rows, "limits": limits, "rss": rss}))


def report(directory):
    """bench/RESULTS.md from the pieces bench/run collected in `directory`."""
    read = lambda name: open(os.path.join(directory, name)).read().strip()
    http_figures = json.loads(read("http.json"))
    out = ["# Benchmark results", ""]
    out.append(f"Written by `bench/run` on {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
               f"{platform.machine()}, {os.cpu_count()} cores, "
               f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') // 2**30} GiB, "
               f"{platform.platform()}. Load generator (wrk), server (release `nexus-local`: every function's "
               f"router in one process, a pool of 64 connections) and PostgreSQL 15 share these cores, so figures are for "
               f"comparison within one run (ratios), not absolute capacity.")
    out += ["", "## Data", "", "```", read("generate.log"), "```", "",
            f"First SLA check after loading (catches up on every line the generated open tickets have already "
            f"crossed): {read('catchup.txt')}.", ""]
    out += ["## HTTP (wrk, 2 threads, " + str(SECONDS) + " s per row)", "",
            "| request | connections | median ms | p99 ms | requests/s | failed |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for label, connections, r in http_figures["rows"]:
        failed = f"**{r['failed']} of {r['total']}**" if r["failed"] else "0"
        out.append(f"| {label} | {connections} | {r['median']:.2f} | {r['p99']:.2f} | {r['rps']:.0f} | {failed} |")
    out += ["", "## The physical limit: the list's SQL through pgbench", "",
            "`bench/tickets-list.sql` is the statement the first-page list request sends; pgbench runs it "
            "(prepared) at the same concurrency against the same database; `bench/session-check.sql` followed by it is all "
            "the SQL one request sends. Beyond the SQL the API parses HTTP, "
            "checks the token and writes JSON.", "",
            "| connections | pgbench tps, list statement | API requests/s | API / pgbench (budget ≥ 0.8) "
            "| pgbench tps, the request's SQL (session check + list) | API / that |",
            "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    for connections, bench, api, whole in http_figures["limits"]:
        ratio, whole_ratio = api["rps"] / bench["tps"], api["rps"] / whole["tps"]
        out.append(f"| {connections} | {bench['tps']:.0f} | {api['rps']:.0f} | {ratio:.2f} {'✓' if ratio >= 0.8 else '✗'} "
                   f"| {whole['tps']:.0f} | {whole_ratio:.2f} |")
    out += ["", f"Peak RSS of the server process (all functions in one) after every run above: "
            f"**{http_figures['rss']:.1f} MB** (budget per function ≤ 64 MB).", ""]
    out += ["## In process (release build)", "", read("sweep.md"), "",
            "Budgets: sweep ≤ 1 s for 1 % of 1,000,000 open tickets crossing a line, flat when the non-due "
            "tickets double; jobcard ≤ 2 ms median, ≤ 50 KB.", ""]
    out += ["## Cold starts and memory per Lambda instance (scripts/bench-cold-start, on this data)", "",
            read("cold.md"), ""]
    # What was slow, what changed, before and after: kept by hand, carried into every report.
    out += [open(os.path.join(ROOT, "bench/before-after.md")).read().strip(), ""]
    print("\n".join(out))


if __name__ == "__main__":
    if sys.argv[1:2] == ["report"]:
        report(sys.argv[2])
    elif sys.argv[1:2] == ["list-cpu"]:
        list_cpu()
    else:
        main()
