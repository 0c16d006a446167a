"""A Kubeflow Pipelines API server on 127.0.0.1, answering as a given KFP release does the
few calls `y8m submit` makes through kfp's client: the healthz endpoint (the body KFP 2.x
writes, kubeflow/pipelines `backend/src/apiserver/main.go`), experiments (list, create)
and runs (create). It keeps every request it was sent."""
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API = "/apis/v2beta1"


class KfpApiServer:
    def __init__(self, tag_name: str):
        self.tag_name = tag_name
        self.requests: list[tuple[str, str, dict | None]] = []  # method, path, JSON body
        self.experiments: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                server.requests.append(("GET", self.path, None))
                path = urllib.parse.urlparse(self.path).path
                if path == f"{API}/healthz":
                    self.answer({"commit_sha": "0" * 40, "tag_name": server.tag_name, "multi_user": False})
                elif path == f"{API}/experiments":
                    self.answer({"experiments": server.experiments} if server.experiments else {})
                else:
                    self.answer({"error": "not found", "code": 5}, 404)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(("POST", self.path, body))
                if self.path == f"{API}/experiments":
                    experiment = dict(body, experiment_id=f"experiment-{len(server.experiments) + 1}")
                    server.experiments.append(experiment)
                    self.answer(experiment)
                elif self.path == f"{API}/runs":
                    self.answer(dict(body, run_id="run-1", state="PENDING"))
                else:
                    self.answer({"error": "not found", "code": 5}, 404)

            def answer(self, payload: dict, status: int = 200):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def runs_created(self) -> list[dict]:
        return [body for method, path, body in self.requests if method == "POST" and path == f"{API}/runs"]
