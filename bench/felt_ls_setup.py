"""Projects for bench/bench_felt.py's Label Studio side, made through Label Studio's own HTTP API.

    python bench/felt_ls_setup.py --url http://127.0.0.1:8089 --email bench@example.com --password PASS \
        [--token TOKEN] [--tasks 1000] [--image-tasks 60]

Prints one line of JSON: ``{"token": ..., "text_project": ID, "image_project": ID}``. The text project has
the same 3-choice config as Quorum's benchmark project (with explicit hotkeys 1-3, which is what Label
Studio shows by default for the first three choices) and tasks whose text is Quorum's: "Task <n> of the
labeling benchmark. ...", so both tools show the same items. The image project has the demo's
RectangleLabels config and tasks on the demo photos, uploaded once through the import API.

Label Studio 1.23 disables legacy API tokens for new organisations; this script signs in with the e-mail
and password (a browser-like session with its CSRF token) and switches them on, so the ``Token`` header the
benchmark uses works. Nothing here is Label Studio code; it only talks to a running Label Studio on the URL.
"""
from __future__ import annotations

import argparse
import http.cookiejar
import json
import re
import sys
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
TEXT_CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text">
    <Choice value="Positive" hotkey="1"/><Choice value="Negative" hotkey="2"/><Choice value="Neutral" hotkey="3"/>
  </Choices>
</View>"""
TASK_TEXT = ("Task {n} of the labeling benchmark. The room was clean, the staff friendly, and breakfast fair for "
             "the price.")
TIMEOUT_S = 120


class LabelStudio:
    """A tiny client: a cookie session (for the sign-in and the token switch) and Token-header API calls."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def _csrf(self) -> str:
        return next((c.value for c in self.jar if c.name == "csrftoken"), "")

    def sign_in(self, email: str, password: str) -> None:
        page = self.opener.open(f"{self.url}/user/login/", timeout=TIMEOUT_S).read().decode()
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        form = urllib.parse.urlencode({"csrfmiddlewaretoken": match.group(1) if match else self._csrf(),
                                       "email": email, "password": password}).encode()
        request = urllib.request.Request(f"{self.url}/user/login/", data=form,
                                         headers={"Referer": f"{self.url}/user/login/"})
        self.opener.open(request, timeout=TIMEOUT_S).read()
        if not any(c.name == "sessionid" for c in self.jar):
            raise RuntimeError(f"could not sign in to {self.url} as {email}")

    def session_call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method, headers={
            "Content-Type": "application/json", "X-CSRFToken": self._csrf(), "Referer": f"{self.url}/"})
        return json.loads(self.opener.open(request, timeout=TIMEOUT_S).read() or b"null")

    def call(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
             content_type: str = "application/json") -> Any:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method, headers={
            "Content-Type": content_type, "Authorization": f"Token {self.token}"})
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return json.loads(response.read() or b"null")

    def enable_legacy_token(self) -> str:
        """Switch legacy tokens on for the organisation; returns the signed-in user's token."""
        self.session_call("POST", "/api/jwt/settings", {"api_tokens_enabled": True, "legacy_api_tokens_enabled": True})
        self.token = self.session_call("GET", "/api/current-user/token")["token"]
        return self.token

    def upload_file(self, project_id: int, path: Path) -> Any:
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{path.name}\"\r\n"
                f"Content-Type: image/jpeg\r\n\r\n").encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
        return self.call("POST", f"/api/projects/{project_id}/import?commit_to_project=false", raw=body,
                         content_type=f"multipart/form-data; boundary={boundary}")


def create_text_project(ls: LabelStudio, n_tasks: int, title: str) -> int:
    project = ls.call("POST", "/api/projects", {"title": title, "label_config": TEXT_CONFIG,
                                               "show_skip_button": True, "maximum_annotations": 1})
    tasks = [{"text": TASK_TEXT.format(n=n)} for n in range(1, n_tasks + 1)]
    for start in range(0, len(tasks), 10_000):
        ls.call("POST", f"/api/projects/{project['id']}/import", tasks[start:start + 10_000])
    return int(project["id"])


def create_image_project(ls: LabelStudio, n_tasks: int, title: str) -> int:
    config = (REPO_ROOT / "assets" / "demo" / "image-boxes" / "config.xml").read_text()
    project = ls.call("POST", "/api/projects", {"title": title, "label_config": config, "maximum_annotations": 1})
    images = sorted((REPO_ROOT / "assets" / "demo" / "images").glob("*.jpg"))
    urls = []
    for path in images:
        uploaded = ls.upload_file(project["id"], path)
        file_ids = uploaded.get("file_upload_ids") or []
        if not file_ids:
            raise RuntimeError(f"upload of {path.name} returned {uploaded}")
        upload = ls.call("GET", f"/api/import/file-upload/{file_ids[0]}")
        url = str(upload["file"])  # "upload/<project>/<name>"; Label Studio serves it under /data/
        urls.append(url if url.startswith(("/", "http")) else f"/data/{url}")
    tasks = [{"image": urls[i % len(urls)], "n": i + 1} for i in range(n_tasks)]
    ls.call("POST", f"/api/projects/{project['id']}/import", tasks)
    return int(project["id"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--token", help="a legacy API token (default: switched on and read after signing in)")
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--image-tasks", type=int, default=60)
    args = parser.parse_args()
    host = urllib.parse.urlparse(args.url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"refusing {args.url}: the benchmark talks to loopback only")
    ls = LabelStudio(args.url, args.token)
    if not args.token:
        ls.sign_in(args.email, args.password)
        ls.enable_legacy_token()
    tag = uuid.uuid4().hex[:6]
    out = {"token": ls.token, "text_project": create_text_project(ls, args.tasks, f"Felt text {args.tasks} {tag}")}
    if args.image_tasks:
        out["image_project"] = create_image_project(ls, args.image_tasks, f"Felt boxes {tag}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
