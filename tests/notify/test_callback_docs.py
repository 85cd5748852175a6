"""The verification snippets in docs/api.md accept what pressroom signs and refuse a changed body,
so a reader copying them gets working code (Python in-process, JavaScript under Node.js)."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

from pipeline.notify import webhook

DOC = (Path(__file__).parents[2] / "docs" / "api.md").read_text()
SECTION = DOC[DOC.index("## Callbacks"):]
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = b'{"type":"build.completed","data":{"job_id":"bld_1"}}'


def _signed() -> dict[str, str]:
    ts = int(time.time())
    return {"webhook-id": "cb_x", "webhook-timestamp": str(ts), "webhook-signature": webhook.sign(SECRET, "cb_x", ts, BODY)}


def _snippet(lang: str) -> str:
    found = re.search(rf"```{lang}\n(.*?)```", SECTION, re.S)
    assert found, f"no {lang} snippet in the callbacks section"
    return found.group(1)


def test_the_python_snippet_verifies_a_callback() -> None:
    namespace: dict[str, Any] = {}
    exec(_snippet("python"), namespace)  # noqa: S102 - our own documentation
    headers = _signed()
    assert namespace["verify"](SECRET, headers, BODY) is True
    assert namespace["verify"](SECRET, headers, BODY + b" ") is False


def test_the_javascript_snippet_verifies_a_callback() -> None:
    headers = _signed()
    script = _snippet("javascript") + (
        f"\nconst h = {json.dumps(headers)};\n"
        f"console.log(JSON.stringify([verify({json.dumps(SECRET)}, h, Buffer.from({json.dumps(BODY.decode())})),"
        f" verify({json.dumps(SECRET)}, h, Buffer.from('x'))]));\n")
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [True, False]
