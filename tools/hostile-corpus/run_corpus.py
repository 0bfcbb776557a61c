#!/usr/bin/python3
"""Runs the hostile-input corpus against a res2net CLI and reports what goes wrong.

    /usr/bin/python3 run_corpus.py CLI [--corpus DIR] [--work DIR] [--results FILE] [--only REGEX]
                                       [--timeout 20] [--mem-mb 1536] [--keep] [--regen]

Every step runs in its own session (process group) under:
  * a wall-clock timeout (default 20 s; SIGTERM, then SIGKILL 3 s later);
  * a memory limit of --mem-mb (default 1536 MiB), applied twice: `ulimit -d` (RLIMIT_DATA: private writable memory,
    so allocations past it fail inside the tool) and a watchdog that polls /proc every 50 ms and SIGKILLs the group
    when its summed RSS passes the limit. (`ulimit -v` cannot be used: LibTorch and the .NET GC reserve 3-4 GiB of
    address space before doing anything, so the tool does not even start below ~4 GiB of RLIMIT_AS.)
  * RLIMIT_FSIZE 2 GiB (a disk guard: endless downloads cannot fill the disk; hitting it is reported as SIGXFSZ);
  * RES2NET_HOME in a scratch folder and RES2NET_MIRROR at a local 404 unless the case sets them (nothing leaves
    127.0.0.1).
Peak RSS comes from wait4(2) (what /usr/bin/time -v reports) and from the /proc polling of the whole group.

Each case folder is copied (cp -a, sparse files stay sparse) into --work before it runs, so the corpus stays pristine.
Writes a table to stdout and everything to results.json.
"""
import argparse
import fnmatch
import gzip
import hashlib
import http.server
import json
import os
import re
import resource
import shutil
import signal
import socketserver
import stat
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
PAGE = os.sysconf("SC_PAGE_SIZE")
STOP = threading.Event()

# ============================================================================================ hostile HTTP server


class Hostile(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    _gzip_bomb = None
    _lock = threading.Lock()

    def log_message(self, *a):
        pass

    def _sleep(self, s):
        return STOP.wait(s)

    def do_GET(self):  # noqa: C901
        parts = self.path.strip("/").split("/")
        kind = parts[0] if parts else ""
        try:
            if kind == "drip":
                self.send_response(200)
                self.send_header("Content-Length", "100000000")
                self.end_headers()
                while not STOP.is_set():
                    self.wfile.write(b"\0")
                    self.wfile.flush()
                    if self._sleep(5):
                        break
            elif kind in ("zeros", "zeros-cl"):
                self.send_response(200)
                if kind == "zeros-cl":
                    self.send_header("Content-Length", str(10 ** 13))
                self.end_headers()
                chunk = b"\0" * (1 << 20)
                while not STOP.is_set():
                    self.wfile.write(chunk)
                    if self._sleep(0.02):  # at most ~50 MB/s
                        break
            elif kind == "html":
                body = b"<!doctype html><html><head><title>Login</title></head><body>Please sign in</body></html>\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif kind == "404":
                self.send_error(404, "Not Found")
            elif kind == "redirect-file":
                self.send_response(302)
                self.send_header("Location", "file:///etc/passwd")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif kind == "redirect-loop":
                self.send_response(302)
                self.send_header("Location", self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif kind == "redirect-closed":
                self.send_response(302)
                self.send_header("Location", "http://127.0.0.1:1/x.pth")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif kind == "silent":
                self._sleep(60)
            elif kind == "header-drip":
                self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                self.wfile.flush()
                while not STOP.is_set():
                    self.wfile.write(b"a")
                    self.wfile.flush()
                    if self._sleep(2):
                        break
            elif kind == "close":
                self.close_connection = True
                return
            elif kind == "short":
                self.send_response(200)
                self.send_header("Content-Length", "1000000")
                self.end_headers()
                self.wfile.write(b"\1" * 1000)
                self.close_connection = True
            elif kind == "wrong":
                body = os.urandom(1 << 20)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif kind == "huge-header":
                self.send_response(200)
                self.send_header("X-Big", "a" * (1 << 20))
                self.send_header("Content-Length", "10")
                self.end_headers()
                self.wfile.write(b"0123456789")
            elif kind == "gzip-bomb":
                with Hostile._lock:
                    if Hostile._gzip_bomb is None:
                        co = gzip.compress(b"\0" * (64 << 20), 6)  # 64 MB of zeros -> ~64 KB; repeated members
                        Hostile._gzip_bomb = co * 16            # 16 gzip members: 1 GB inflated, ~1 MB sent
                body = Hostile._gzip_bomb
                self.send_response(200)
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_error(404, "Not Found")
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, OSError):
            pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def start_server():
    srv = Server(("127.0.0.1", 0), Hostile)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}"


# ============================================================================================ process running


def session_members(sid):
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat", "rb") as f:
                s = f.read()
            fields = s[s.rindex(b")") + 2:].split()
            if int(fields[3]) == sid:
                with open(f"/proc/{p}/statm") as f:
                    rss = int(f.read().split()[1]) * PAGE
                out.append((int(p), rss))
        except (OSError, ValueError, IndexError):
            pass
    return out


def run_step(cmd, env, log_prefix, timeout, mem_bytes, interrupt_after=None, interrupt_again=None, interrupt_signal="INT",
             fsize=2 << 30):
    def limits():
        os.setsid()
        # A harness started in the background of a non-interactive shell inherits SIGINT/SIGQUIT ignored, and an
        # ignored signal stays ignored across exec (and .NET then never sees Ctrl-C): give the tool the defaults.
        for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(s, signal.SIG_DFL)
        resource.setrlimit(resource.RLIMIT_DATA, (mem_bytes, mem_bytes))
        if fsize:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    out_path, err_path = log_prefix + ".out", log_prefix + ".err"
    with open(out_path, "wb") as fo, open(err_path, "wb") as fe:
        t0 = time.monotonic()
        p = subprocess.Popen(["bash", "-c", cmd], stdin=subprocess.DEVNULL, stdout=fo, stderr=fe, env=env,
                             preexec_fn=limits, close_fds=True)
        sid = p.pid
        rec = {"timed_out": False, "mem_killed": False, "signals_sent": [], "peak_group_rss_mb": 0.0}
        status, ru = None, None
        sig_at = term_at = None
        sent_again = False
        peak = 0
        while True:
            pid, st, usage = os.wait4(p.pid, os.WNOHANG)
            if pid == p.pid:
                status, ru = st, usage
                break
            now = time.monotonic() - t0
            members = session_members(sid)
            group_rss = sum(r for _, r in members)
            peak = max(peak, group_rss)
            if group_rss > mem_bytes and not rec["mem_killed"]:
                rec["mem_killed"] = True
                rec["signals_sent"].append(("KILL(mem)", round(now, 2)))
                _killpg(sid, signal.SIGKILL)
            if interrupt_after is not None and sig_at is None and now >= interrupt_after:
                sig_at = now
                s = signal.SIGTERM if interrupt_signal == "TERM" else signal.SIGINT
                rec["signals_sent"].append((interrupt_signal, round(now, 2)))
                _killpg(sid, s)
            if interrupt_again and sig_at is not None and not sent_again and now >= sig_at + interrupt_again:
                sent_again = True
                rec["signals_sent"].append(("INT", round(now, 2)))
                _killpg(sid, signal.SIGINT)
            if now >= timeout and term_at is None:
                rec["timed_out"] = True
                term_at = now
                rec["signals_sent"].append(("TERM(timeout)", round(now, 2)))
                _killpg(sid, signal.SIGTERM)
            if term_at is not None and now >= term_at + 3:
                rec["signals_sent"].append(("KILL(timeout)", round(now, 2)))
                _killpg(sid, signal.SIGKILL)
                term_at = float("inf")
            time.sleep(0.05)
        elapsed = time.monotonic() - t0
        # anything of the group still alive (background jobs): count it and end it
        stray = [m for m, _ in session_members(sid)]
        if stray:
            _killpg(sid, signal.SIGKILL)
        rc = os.waitstatus_to_exitcode(status)
        rec.update({
            "cmd": cmd, "rc": rc, "elapsed_s": round(elapsed, 2),
            "peak_rss_mb": round(ru.ru_maxrss / 1024, 1),
            "peak_group_rss_mb": round(peak / 2 ** 20, 1),
            "exit_after_signal_s": round(elapsed - sig_at, 2) if sig_at is not None else None,
            "terminated_after_timeout_s": round(elapsed - term_at, 2) if rec["timed_out"] and term_at != float("inf") else None,
            "stray_processes": len(stray),
        })
    return rec, out_path, err_path


def _killpg(sid, s):
    try:
        os.killpg(sid, s)
    except ProcessLookupError:
        pass


# ============================================================================================ file-system snapshots


def snapshot(top):
    snap = {}
    for root, dirs, files in os.walk(top, followlinks=False):
        for name in dirs + files:
            p = os.path.join(root, name)
            rel = os.path.relpath(p, top)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            m = st.st_mode
            e = {"type": ("link" if stat.S_ISLNK(m) else "dir" if stat.S_ISDIR(m) else "file" if stat.S_ISREG(m)
                          else "fifo" if stat.S_ISFIFO(m) else "sock" if stat.S_ISSOCK(m)
                          else "chr" if stat.S_ISCHR(m) else "blk" if stat.S_ISBLK(m) else "other"),
                 "ino": st.st_ino}
            if e["type"] == "link":
                e["target"] = os.readlink(p)
            elif e["type"] == "file":
                e["size"] = st.st_size
                e["alloc"] = st.st_blocks * 512
                if st.st_size <= 8 << 20:
                    with open(p, "rb") as f:
                        e["sha"] = hashlib.sha256(f.read()).hexdigest()[:16]
                else:
                    e["mtime"] = st.st_mtime_ns
            snap[rel] = e
    return snap


LEFTOVER = re.compile(r"(\.tmp$|\.partial$|\.tmp\.|^\..*\.[0-9a-f]{8,}\.tmp|~$)")


def devices():
    r = {}
    for d in ("/dev/null", "/dev/zero", "/dev/full"):
        try:
            st = os.lstat(d)
            r[d] = (stat.S_ISCHR(st.st_mode), os.major(st.st_rdev), os.minor(st.st_rdev))
        except OSError:
            r[d] = None
    return r


DEVNUM = {"/dev/null": 3, "/dev/zero": 5, "/dev/full": 7}


def restore_devices(bad):
    for d in bad:
        try:
            if os.path.lexists(d):
                if os.path.isdir(d) and not os.path.islink(d):
                    shutil.rmtree(d)
                else:
                    os.unlink(d)
            os.mknod(d, 0o666 | stat.S_IFCHR, os.makedev(1, DEVNUM[d]))
            os.chmod(d, 0o666)
        except OSError as e:
            print(f"!! could not restore {d}: {e}", file=sys.stderr)


# ============================================================================================ analysis

DOTNET_TRACE = re.compile(r"^\s+at \S+.*(\(|\bin\b)", re.M)
NATIVE = re.compile(r"frame #\d+|Exception raised from|terminate called|Segmentation fault|core dumped|"
                    r"^Aborted|Fatal error\.|Stack overflow|SIGSEGV|c10::", re.M)
OOM = re.compile(r"OutOfMemory|can't allocate memory|bad_alloc|Cannot allocate memory|out of memory|"
                 r"Insufficient memory|not enough memory|Failed to allocate", re.I)
CTRL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")


def no_constants(x):
    raise ValueError("non-standard JSON constant " + x)


def parse_json_output(text):
    """Whole stdout as one JSON value, else JSON lines; NaN/Infinity are invalid JSON."""
    text = text.strip()
    if not text:
        return None, "empty stdout"
    try:
        return [json.loads(text, parse_constant=no_constants)], None
    except ValueError:
        pass
    vals = []
    for i, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        try:
            vals.append(json.loads(line, parse_constant=no_constants))
        except ValueError as e:
            return None, f"line {i + 1}: {e}: {line[:120]!r}"
    return vals, None


def normalise_predictions(vals):
    out = []
    for v in vals or []:
        if isinstance(v, dict) and "top" in v:
            out.append((v.get("input"), v.get("index"), [(t.get("class"), round(float(t.get("prob", 0)), 3)) for t in v["top"]]))
    return out


def analyse_step(step, rec, out_path, err_path, mem_mb):
    with open(err_path, "rb") as f:
        err_b = f.read()
    with open(out_path, "rb") as f:
        out_b = f.read()
    err = err_b.decode("utf-8", "replace")
    out = out_b.decode("utf-8", "replace")
    lines = [l for l in err.splitlines() if l.strip()]
    rec["stderr_lines"] = len(lines)
    rec["stdout_lines"] = len([l for l in out.splitlines() if l.strip()])
    rec["stderr_head"] = lines[:4]
    rec["stderr_tail"] = lines[-2:] if len(lines) > 4 else []
    rec["stdout_head"] = out.splitlines()[:3]
    flags = []
    rc = rec["rc"]
    interrupted = bool(step.get("interrupt_after"))
    if rec["timed_out"]:
        flags.append("TIMEOUT")
    if rec["mem_killed"] or rec["peak_rss_mb"] > mem_mb or rec["peak_group_rss_mb"] > mem_mb or OOM.search(err):
        flags.append("MEM")
    if rc == -signal.SIGXFSZ:
        flags.append("FSIZE")
    signalled = rc < 0 and not rec["timed_out"] and not rec["mem_killed"] and rc != -signal.SIGXFSZ and not (
        interrupted and rc in (-signal.SIGINT, -signal.SIGTERM))
    if signalled or rc in (134, 136, 139):
        flags.append("CRASH")
    if NATIVE.search(err):
        flags.append("NATIVE_TRACE")
    if DOTNET_TRACE.search(err):
        flags.append("TRACE")
    if "unexpected failure" in err:
        flags.append("UNEXPECTED")
    if CTRL.search(err_b) or CTRL.search(out_b):
        flags.append("CTRL")
    if rc not in (0, 130) and not rec["timed_out"] and rec["stderr_lines"] > 6 and "TRACE" not in flags:
        flags.append("NOISY")
    exp = step.get("expect", "any")
    finished = not rec["timed_out"] and not rec["mem_killed"] and rc >= 0
    if finished:
        if exp == "error" and rc == 0:
            flags.append("EXPECT(error,got 0)")
        elif exp == "ok" and rc != 0:
            flags.append(f"EXPECT(ok,got {rc})")
        elif exp.startswith("rc=") and rc != int(exp[3:]):
            flags.append(f"EXPECT({exp},got {rc})")
    if interrupted and rec["exit_after_signal_s"] is not None and rec["exit_after_signal_s"] > 5:
        flags.append("SLOWSIG")
    if step.get("json") and finished:
        vals, why = parse_json_output(out)
        if why and not (rc != 0 and not out.strip()):
            flags.append("BADJSON")
            rec["json_problem"] = why
        if step.get("ref") and rc == 0:  # a failed run is already flagged by EXPECT
            try:
                with open(step["ref"]) as f:
                    ref_vals, ref_why = parse_json_output(f.read())
            except OSError as e:
                ref_vals, ref_why = None, str(e)
            if ref_why:
                rec["ref_problem"] = ref_why
                flags.append("NOREF")
            elif normalise_predictions(vals) != normalise_predictions(ref_vals):
                flags.append("REFDIFF")
                rec["ref_diff"] = {"got": normalise_predictions(vals)[:2], "want": normalise_predictions(ref_vals)[:2]}
    if step.get("min_stdout_lines") and finished and rec["stdout_lines"] < step["min_stdout_lines"]:
        flags.append("FEWOUT")
    rec["flags"] = flags
    return rec


# ============================================================================================ main


def subst(s, values):
    return re.sub(r"\{(cli|case|base|http|https_wrong|py|mk|model|big)\}", lambda m: values[m.group(1)], s)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cli")
    ap.add_argument("--corpus", default=os.path.join(HERE, "corpus"))
    ap.add_argument("--work", default=os.path.join(HERE, "work"))
    ap.add_argument("--results", default=os.path.join(HERE, "results.json"))
    ap.add_argument("--only", help="regex over case ids")
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("--mem-mb", type=int, default=1536)
    ap.add_argument("--keep", action="store_true", help="keep the work copies of the cases")
    ap.add_argument("--regen", action="store_true", help="regenerate the corpus first")
    args = ap.parse_args()
    cli = os.path.abspath(args.cli)
    if not os.access(cli, os.X_OK):
        sys.exit(f"{cli}: not an executable")
    corpus = os.path.abspath(args.corpus)
    if args.regen or not os.path.exists(os.path.join(corpus, "cases.json")):
        subprocess.run([PY, os.path.join(HERE, "make_corpus.py"), corpus, "--cli", cli], check=True)
    with open(os.path.join(corpus, "cases.json")) as f:
        spec = json.load(f)
    cases = [c for c in spec["cases"] if not args.only or re.search(args.only, c["id"])]
    work = os.path.abspath(args.work)
    if os.path.exists(work):
        shutil.rmtree(work)
    os.makedirs(os.path.join(work, "logs"))
    srv, url = start_server()
    mem = args.mem_mb << 20
    meta = spec["meta"]
    results = []
    t_all = time.monotonic()
    print(f"{len(cases)} cases, CLI {cli}, timeout {args.timeout:g} s, memory {args.mem_mb} MiB, server {url}", flush=True)
    hdr = f"{'case':<38} {'rc':>9} {'secs':>6} {'MB':>6} {'err':>4}  flags"
    print(hdr + "\n" + "-" * len(hdr), flush=True)
    dev_before = devices()
    for c in cases:
        cdir = os.path.join(work, c["id"])
        src = os.path.join(corpus, "cases", c["id"])
        subprocess.run(["cp", "-a", "--sparse=always", src, cdir], check=True)
        home = os.path.join(work, "homes", c["id"])
        os.makedirs(home)
        values = {"cli": cli, "case": cdir, "base": meta["base"], "http": url, "https_wrong": url.replace("http:", "https:"),
                  "py": PY, "mk": os.path.join(HERE, "make_corpus.py"), "model": meta["model"], "big": meta["big_model"]}
        env = dict(os.environ)
        env.update({"RES2NET_HOME": home, "RES2NET_MIRROR": url + "/404/", "DOTNET_CLI_TELEMETRY_OPTOUT": "1"})
        env.pop("DOTNET_gcServer", None)
        case_flags, setup_recs, step_recs = [], [], []
        for i, s in enumerate(c.get("setup", [])):
            rec, o, e = run_step(subst(s, values), env, os.path.join(work, "logs", f"{c['id']}.setup{i}"), 180, 4 << 30, fsize=0)
            rec["flags"] = [] if rec["rc"] == 0 else ["SETUP_FAILED"]
            with open(e, "rb") as f:
                rec["stderr_head"] = f.read().decode("utf-8", "replace").splitlines()[:4]
            setup_recs.append(rec)
            if rec["rc"] != 0:
                case_flags.append("SETUP_FAILED")
        pre = snapshot(cdir)
        for i, s in enumerate(c["steps"]):
            step = dict(s)
            step["cmd"] = subst(s["cmd"], values)
            if step.get("ref"):
                step["ref"] = subst(step["ref"], values)
            rec, o, e = run_step(step["cmd"], env, os.path.join(work, "logs", f"{c['id']}.step{i}"),
                                 s.get("timeout", args.timeout), mem, s.get("interrupt_after"), s.get("interrupt_again"),
                                 s.get("interrupt_signal", "INT"))
            rec["expect"] = s.get("expect", "any")
            analyse_step(step, rec, o, e, args.mem_mb)
            step_recs.append(rec)
        post = snapshot(cdir)
        # --- file-system effects
        leftovers = sorted(p for p in post if p not in pre and LEFTOVER.search(os.path.basename(p)))
        leftovers += sorted(os.path.join("$RES2NET_HOME", os.path.relpath(os.path.join(r, n), home))
                            for r, ds, fs in os.walk(home) for n in fs if LEFTOVER.search(n))
        protected = {p: e for p, e in pre.items()
                     if (e["type"] in ("link", "fifo", "sock") or os.path.basename(p).startswith("victim") or
                         any(fnmatch.fnmatch(p, g) for g in c.get("protect", [])))
                     and not any(fnmatch.fnmatch(p, g) for g in c.get("allow", []))}
        touched = []
        for p, e in protected.items():
            q = post.get(p)
            if q is None:
                touched.append(f"{p}: removed (was {e['type']})")
            elif q["type"] != e["type"] or q.get("target") != e.get("target") or q.get("sha") != e.get("sha") \
                    or q.get("size") != e.get("size") or q.get("mtime") != e.get("mtime"):
                touched.append(f"{p}: {e['type']}{' -> ' + e['target'] if 'target' in e else ''} became "
                               f"{q['type']}{' -> ' + q['target'] if 'target' in q else ''}"
                               f"{' (content changed)' if q.get('sha') != e.get('sha') and q['type'] == 'file' else ''}")
        created = [p for p in c.get("must_not_exist", []) if os.path.lexists(os.path.join(cdir, p))]
        if leftovers:
            case_flags.append("LEFTOVER")
        if touched:
            case_flags.append("TOUCHED")
        if created:
            case_flags.append("CREATED")
        dev_after = devices()
        bad_dev = [d for d in dev_after if dev_after[d] != dev_before[d]]
        if bad_dev:
            case_flags.append("DEVICE")
            restore_devices(bad_dev)
        new_entries = sorted(p for p in post if p not in pre)
        flags = case_flags + [f for r in step_recs for f in r["flags"]]
        flags = list(dict.fromkeys(flags))
        res = {"id": c["id"], "class": c["class"], "desc": c["desc"], "flags": flags, "steps": step_recs, "setup": setup_recs,
               "leftovers": leftovers, "touched": touched, "created": created, "devices_changed": bad_dev,
               "new_entries": new_entries[:30], "new_entries_count": len(new_entries)}
        results.append(res)
        rcs = ",".join(("T" if r["timed_out"] else "M" if r["mem_killed"] else str(r["rc"])) for r in step_recs)
        secs = sum(r["elapsed_s"] for r in step_recs)
        mb = max(max(r["peak_rss_mb"], r["peak_group_rss_mb"]) for r in step_recs)
        errl = max(r["stderr_lines"] for r in step_recs)
        print(f"{c['id'][:38]:<38} {rcs:>9} {secs:6.1f} {mb:6.0f} {errl:4d}  {' '.join(flags) or 'ok'}", flush=True)
        # reclaim disk: big files and, unless --keep, the whole copy
        for r, ds, fs in os.walk(cdir):
            for n in fs:
                p = os.path.join(r, n)
                try:
                    if os.lstat(p).st_blocks * 512 > 100 << 20:
                        os.unlink(p)
                except OSError:
                    pass
        if not args.keep:
            shutil.rmtree(cdir, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
        with open(args.results, "w") as f:
            json.dump({"cli": cli, "corpus": corpus, "timeout_s": args.timeout, "mem_mb": args.mem_mb,
                       "elapsed_s": round(time.monotonic() - t_all, 1), "results": results}, f, indent=1)
    STOP.set()
    srv.shutdown()
    total = time.monotonic() - t_all
    # ---- summary
    print(f"\n{len(results)} cases in {total:.0f} s; results in {args.results}\n")
    by_flag = {}
    for r in results:
        for fl in r["flags"]:
            by_flag.setdefault(fl.split("(")[0], []).append(r["id"])
    for fl in sorted(by_flag, key=lambda k: -len(by_flag[k])):
        print(f"{fl:<12} {len(by_flag[fl]):3d}  {' '.join(by_flag[fl])}")
    clean = [r["id"] for r in results if not r["flags"]]
    print(f"{'clean':<12} {len(clean):3d}")


if __name__ == "__main__":
    main()
