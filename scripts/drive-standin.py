#!/usr/bin/env python3
"""A local stand-in for the subset of the Google Drive REST API v3 that the Android sample's
Drive store uses (android-sample/drive), so its tests and the blob store conformance suite run
without Google. It is NOT Drive: it speaks only these requests, with Drive's URLs, status codes,
headers and JSON shapes as documented, and models only what the store relies on.

  GET    /drive/v3/files?spaces=appDataFolder&q=..&fields=..&pageSize=..&pageToken=..   files.list
  POST   /upload/drive/v3/files?uploadType=multipart                                   files.create
  POST   /upload/drive/v3/files?uploadType=resumable  -> Location: session URL         files.create
  PATCH  /upload/drive/v3/files/ID?uploadType=media|resumable                          files.update
         (also POST with X-HTTP-Method-Override: PATCH, as HttpURLConnection sends it)
  PUT    <session URL> with Content-Range: bytes A-B/N or bytes */N  -> 308 + Range, or 200
  GET    /drive/v3/files/ID?alt=media (Range: bytes=A-B or A-)  -> 200, 206 or 416
  DELETE /drive/v3/files/ID  -> 204 or 404
  GET    /drive/v3/about?fields=storageQuota

q understands `trashed = false`, `name = '..'` and `appProperties has { key='..' and value='..' }`
joined by `and`. Every request needs `Authorization: Bearer <token>` with the current token.

Test knobs (POST JSON to /_control/<verb>; GET /_control/stats):
  reset      {}: no files, no sessions, no faults, token "token-1"
  configure  {"max_page_size": n, "quota_bytes": n, "token": s, "fault_rate": p, "seed": n,
              "retry_after": "0", "faults": [{"status": 429|403|500|503|401, "reason": s,
              "retry_after": s, "count": n, "path": substring}], "reset_chunks": n}
             fault_rate: that share of requests (seeded) fail with 429, 403 userRateLimitExceeded
             or 503 in turn. faults: the next `count` requests whose path holds `path` fail so.
             reset_chunks: the next n resumable chunk uploads store half of their bytes (whole
             256 KiB units) and then drop the connection without an answer.
             list_lag: a new file stays out of files.list answers for the next n listings (Drive's
             search index lags behind writes; reads by id see the file at once).
  seed       {"name": s, "copies": [base64...]}: files of one name, created in that order
             (duplicates, as two devices could leave them).
  stats      counts of requests by kind, files, sessions, faults injected, bytes taken by
             resumable sessions, most requests at once.

Usage: drive-standin.py --port-file FILE [--port N]  (port 0 = any free port; the port is
written to FILE once the server listens).
"""

import argparse
import base64
import json
import os
import random
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CHUNK_UNIT = 256 * 1024


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.files = {}  # id -> dict(name, data, created, props)
        self.sessions = {}  # upload id -> dict(meta, file_id, size, data)
        self.clock = 0
        self.token = "token-1"
        self.max_page_size = 1000
        self.quota_bytes = None
        self.fault_rate = 0.0
        self.rng = random.Random(1)
        self.fault_turn = 0
        self.retry_after = "0"
        self.faults = []
        self.reset_chunks = 0
        self.list_lag = 0
        self.lists = 0
        self.stats = {"requests": 0, "faults": 0, "resets": 0, "upload_bytes": 0, "in_flight": 0, "max_in_flight": 0}

    def created(self):
        """Creation times that order files as they were made (Drive's RFC 3339 format)."""
        self.clock += 1
        base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1_767_225_600 + self.clock // 1000))
        return f"{base}.{self.clock % 1000:03d}Z"

    def used(self):
        return sum(len(f["data"]) for f in self.files.values())


STATE = State()


def parse_query(q):
    """The q subset as a predicate over a file; ValueError for anything else."""
    terms = []
    rest = q.strip()
    literal = r"'((?:[^'\\]|\\.)*)'"
    while rest:
        m = re.match(r"trashed\s*=\s*false", rest)
        if m:
            terms.append(lambda f: True)
        elif m := re.match(r"name\s*=\s*" + literal, rest):
            want = unescape(m.group(1))
            terms.append(lambda f, want=want: f["name"] == want)
        elif m := re.match(r"appProperties\s+has\s*\{\s*key\s*=\s*" + literal + r"\s+and\s+value\s*=\s*" + literal + r"\s*\}", rest):
            key, value = unescape(m.group(1)), unescape(m.group(2))
            terms.append(lambda f, key=key, value=value: f["props"].get(key) == value)
        else:
            raise ValueError(f"unsupported query at: {rest[:40]}")
        rest = rest[m.end():].strip()
        if rest:
            m = re.match(r"and\s+", rest)
            if not m:
                raise ValueError(f"expected 'and' at: {rest[:40]}")
            rest = rest[m.end():]
    return lambda f: all(t(f) for t in terms)


def unescape(text):
    return re.sub(r"\\(.)", r"\1", text)


def file_json(file_id, f):
    return {"kind": "drive#file", "id": file_id, "name": f["name"], "size": str(len(f["data"])),
            "createdTime": f["created"]}


def error_body(status, reason, message):
    return json.dumps({"error": {"code": status, "message": message,
                                 "errors": [{"domain": "global", "reason": reason, "message": message}]}})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    # ---- plumbing

    def send(self, status, body=b"", headers=None, content_type="application/json; charset=UTF-8"):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if body:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, reason, message, headers=None):
        self.send(status, error_body(status, reason, message), headers)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch(self.headers.get("X-HTTP-Method-Override", "POST").upper())

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method):
        url = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        if url.path.startswith("/_control/"):
            return self.control(url.path[len("/_control/"):])
        with STATE.lock:
            STATE.stats["requests"] += 1
            STATE.stats["in_flight"] += 1
            STATE.stats["max_in_flight"] = max(STATE.stats["max_in_flight"], STATE.stats["in_flight"])
        try:
            self.route(method, url.path, params)
        finally:
            with STATE.lock:
                STATE.stats["in_flight"] -= 1

    def route(self, method, path, params):
        kind = f"{method} {re.sub(r'/files/[^/?]+', '/files/ID', path)}"
        with STATE.lock:
            STATE.stats[kind] = STATE.stats.get(kind, 0) + 1
        # Every request carries the body it has; read it before answering, so a fault never
        # leaves unread bytes on a kept-alive connection.
        data = self.body() if method in ("POST", "PUT", "PATCH") else b""
        if self.headers.get("Authorization") != f"Bearer {STATE.token}":
            return self.error(401, "authError", "Invalid Credentials", {"WWW-Authenticate": "Bearer"})
        if self.inject_fault(path):
            return
        if method == "GET" and path == "/drive/v3/files":
            return self.files_list(params)
        if method == "GET" and path == "/drive/v3/about":
            return self.about()
        m = re.fullmatch(r"/drive/v3/files/([^/]+)", path)
        if m and method == "GET" and params.get("alt") == "media":
            return self.files_get_media(m.group(1))
        if m and method == "DELETE":
            return self.files_delete(m.group(1))
        if method == "POST" and path == "/upload/drive/v3/files":
            if params.get("uploadType") == "multipart":
                return self.create_multipart(data)
            if params.get("uploadType") == "resumable":
                return self.start_session(json.loads(data or b"{}"), None)
        m = re.fullmatch(r"/upload/drive/v3/files/([^/]+)", path)
        if m and method == "PATCH":
            if params.get("uploadType") == "media":
                return self.update_media(m.group(1), data)
            if params.get("uploadType") == "resumable":
                return self.start_session(json.loads(data or b"{}"), m.group(1))
        if method == "PUT" and path == "/upload/drive/v3/files" and "upload_id" in params:
            return self.session_put(params["upload_id"], data)
        self.error(400, "badRequest", f"the stand-in does not serve {method} {path}")

    def inject_fault(self, path):
        with STATE.lock:
            fault = None
            for f in STATE.faults:
                if f["count"] > 0 and f.get("path", "") in path:
                    f["count"] -= 1
                    fault = f
                    break
            if fault is None and STATE.fault_rate and STATE.rng.random() < STATE.fault_rate:
                kinds = [{"status": 429, "reason": "rateLimitExceeded"},
                         {"status": 403, "reason": "userRateLimitExceeded"},
                         {"status": 503, "reason": "backendError"}]
                fault = kinds[STATE.fault_turn % len(kinds)]
                STATE.fault_turn += 1
            if fault is None:
                return False
            STATE.stats["faults"] += 1
            retry_after = fault.get("retry_after", STATE.retry_after)
        status = fault["status"]
        headers = {"Retry-After": retry_after} if status in (429, 403, 503) and retry_after is not None else {}
        self.error(status, fault.get("reason", "backendError"), "injected by the stand-in", headers)
        return True

    # ---- files

    def files_list(self, params):
        if params.get("spaces") != "appDataFolder":
            return self.error(400, "invalid", "the stand-in only serves spaces=appDataFolder")
        try:
            match = parse_query(params.get("q", ""))
        except ValueError as e:
            return self.error(400, "invalidQuery", str(e))
        size = min(int(params.get("pageSize", "100")), STATE.max_page_size)
        start = int(params.get("pageToken") or 0)
        with STATE.lock:
            STATE.lists += 1
            hits = sorted((fid, f) for fid, f in STATE.files.items()
                          if match(f) and STATE.lists > f.get("listed_after", 0))
            page = hits[start:start + size]
            out = {"kind": "drive#fileList", "files": [file_json(fid, f) for fid, f in page]}
        if start + size < len(hits):
            out["nextPageToken"] = str(start + size)
        self.send(200, json.dumps(out))

    def about(self):
        with STATE.lock:
            quota = {"usage": str(STATE.used())}
            if STATE.quota_bytes is not None:
                quota["limit"] = str(STATE.quota_bytes)
        self.send(200, json.dumps({"storageQuota": quota}))

    def files_get_media(self, file_id):
        with STATE.lock:
            f = STATE.files.get(file_id)
            data = f["data"] if f else None
        if data is None:
            return self.error(404, "notFound", f"File not found: {file_id}.")
        header = self.headers.get("Range")
        if not header:
            return self.send(200, data, content_type="application/octet-stream")
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", header)
        if not m:
            return self.error(400, "badRange", "bad Range")
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) else len(data) - 1
        if first >= len(data):
            return self.send(416, b"", {"Content-Range": f"bytes */{len(data)}"})
        last = min(last, len(data) - 1)
        self.send(206, data[first:last + 1], {"Content-Range": f"bytes {first}-{last}/{len(data)}"},
                  content_type="application/octet-stream")

    def files_delete(self, file_id):
        with STATE.lock:
            gone = STATE.files.pop(file_id, None)
        if gone is None:
            return self.error(404, "notFound", f"File not found: {file_id}.")
        self.send(204)

    def store(self, meta, file_id, data):
        """Creates (file_id None) or updates a file; None when the quota is spent."""
        with STATE.lock:
            old = len(STATE.files[file_id]["data"]) if file_id in STATE.files else 0
            if STATE.quota_bytes is not None and STATE.used() - old + len(data) > STATE.quota_bytes:
                return None
            if file_id is None:
                if meta.get("parents") != ["appDataFolder"]:
                    raise ValueError("files must be created in appDataFolder")
                file_id = uuid.uuid4().hex
                STATE.files[file_id] = {"name": meta["name"], "data": data, "created": STATE.created(),
                                        "props": dict(meta.get("appProperties") or {}),
                                        "listed_after": STATE.lists + STATE.list_lag}
            else:
                STATE.files[file_id]["data"] = data
            return file_id, dict(STATE.files[file_id])

    def stored(self, result):
        if result is None:
            return self.error(403, "storageQuotaExceeded", "The user's Drive storage quota has been exceeded.")
        self.send(200, json.dumps(file_json(*result)))

    def create_multipart(self, data):
        m = re.search(r"boundary=([^;]+)", self.headers.get("Content-Type", ""))
        if not m:
            return self.error(400, "badContent", "multipart/related without a boundary")
        boundary = b"--" + m.group(1).strip().encode()
        parts = data.split(boundary)
        # ['', meta part, media part, '--\r\n']
        if len(parts) != 4 or not parts[3].startswith(b"--"):
            return self.error(400, "badContent", "expected two parts")
        bodies = []
        for part in parts[1:3]:
            _, _, content = part.partition(b"\r\n\r\n")
            bodies.append(content[:-2] if content.endswith(b"\r\n") else content)
        try:
            self.stored(self.store(json.loads(bodies[0]), None, bodies[1]))
        except (ValueError, KeyError) as e:
            self.error(400, "badContent", str(e))

    def update_media(self, file_id, data):
        with STATE.lock:
            exists = file_id in STATE.files
        if not exists:
            return self.error(404, "notFound", f"File not found: {file_id}.")
        self.stored(self.store({}, file_id, data))

    def start_session(self, meta, file_id):
        with STATE.lock:
            if file_id is not None and file_id not in STATE.files:
                return self.error(404, "notFound", f"File not found: {file_id}.")
            size = int(self.headers.get("X-Upload-Content-Length", "-1"))
            upload_id = uuid.uuid4().hex
            STATE.sessions[upload_id] = {"meta": meta, "file_id": file_id, "size": size, "data": b""}
        host = self.headers.get("Host")
        self.send(200, b"", {"Location": f"http://{host}/upload/drive/v3/files?uploadType=resumable&upload_id={upload_id}"})

    def session_put(self, upload_id, data):
        with STATE.lock:
            session = STATE.sessions.get(upload_id)
        if session is None:
            return self.error(404, "notFound", "upload session not found")
        content_range = self.headers.get("Content-Range", "")
        m = re.fullmatch(r"bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)", content_range)
        if not m:
            return self.error(400, "badContent", f"bad Content-Range '{content_range}'")
        total = int(m.group(3)) if m.group(3) != "*" else None
        if m.group(1) is not None:
            first, last = int(m.group(1)), int(m.group(2))
            if first != len(session["data"]) or last - first + 1 != len(data):
                return self.error(400, "badContent", f"chunk {first}-{last} does not continue at {len(session['data'])}")
            final = total is not None and last + 1 == total
            if not final and len(data) % CHUNK_UNIT:
                return self.error(400, "badContent", "a chunk that is not the last must be a multiple of 256 KiB")
            with STATE.lock:
                reset = STATE.reset_chunks > 0 and not (final and first == 0)
                if reset:
                    STATE.reset_chunks -= 1
                    STATE.stats["resets"] += 1
            if reset:
                # Keep what "arrived" (whole units of the first half), then drop the connection.
                kept = data[:(len(data) // 2) // CHUNK_UNIT * CHUNK_UNIT]
                session["data"] += kept
                with STATE.lock:
                    STATE.stats["upload_bytes"] += len(kept)
                self.close_connection = True
                self.connection.shutdown(2)
                return
            session["data"] += data
            with STATE.lock:
                STATE.stats["upload_bytes"] += len(data)
        done = total is not None and len(session["data"]) == total
        if not done:
            headers = {"Range": f"bytes=0-{len(session['data']) - 1}"} if session["data"] else {}
            return self.send(308, b"", headers)
        with STATE.lock:
            STATE.sessions.pop(upload_id, None)
        try:
            self.stored(self.store(session["meta"], session["file_id"], session["data"]))
        except (ValueError, KeyError) as e:
            self.error(400, "badContent", str(e))

    # ---- knobs

    def control(self, verb):
        data = json.loads(self.body() or b"{}")
        with STATE.lock:
            if verb == "reset":
                STATE.reset()
            elif verb == "configure":
                for key in ("max_page_size", "quota_bytes", "token", "fault_rate", "retry_after", "reset_chunks", "list_lag"):
                    if key in data:
                        setattr(STATE, key, data[key])
                if "seed" in data:
                    STATE.rng = random.Random(data["seed"])
                if "faults" in data:
                    STATE.faults = [dict(f, count=f.get("count", 1)) for f in data["faults"]]
            elif verb == "seed":
                ids = []
                for copy in data["copies"]:
                    file_id = uuid.uuid4().hex
                    top = data["name"].split("/", 1)[0] if "/" in data["name"] else "-"
                    STATE.files[file_id] = {"name": data["name"], "data": base64.b64decode(copy),
                                            "created": STATE.created(), "props": {"keepsakeTop": top}}
                    ids.append(file_id)
                return self.send(200, json.dumps({"ids": ids}))
            elif verb != "stats":
                return self.send(404, json.dumps({"error": f"no knob {verb}"}))
            stats = dict(STATE.stats, files=len(STATE.files), sessions=len(STATE.sessions),
                         names=sorted({f["name"] for f in STATE.files.values()}))
        self.send(200, json.dumps(stats))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    with open(args.port_file + ".tmp", "w") as out:
        out.write(str(server.server_address[1]))
    os.replace(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
