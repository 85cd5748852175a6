"""One URL redaction rule (also for rows stored before it), member names."""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path

import pytest

from pipeline import errors
from pipeline.dashboard import present
from pipeline.intake import archives
from pipeline.jobs import status
from pipeline.redact import redact_url, scrub
from pipeline.store import Job


def test_one_redact_url() -> None:
    assert redact_url("https://x-access-token:s3cret@github.com:8443/acme/docs.git") == "https://github.com:8443/acme/docs.git"
    assert redact_url("https://ghp_token@github.com/acme/docs.git") == "https://github.com/acme/docs.git"
    assert redact_url("ssh://git@github.com/acme/docs.git") == "ssh://github.com/acme/docs.git"
    assert redact_url("git@github.com:acme/docs.git") == "git@github.com:acme/docs.git"
    assert redact_url("https://github.com/acme/docs.git") == "https://github.com/acme/docs.git"
    assert redact_url("https://u:p@[::1") == "<unparseable url>"
    assert redact_url(None) is None
    msg = "fatal: unable to access 'https://ci:s3cret@git.example.com/x.git/': ci said s3cret"
    assert scrub(msg, "https://ci:s3cret@git.example.com/x.git") == (
        "fatal: unable to access 'https://git.example.com/x.git/': ci said ***")


def _tar(names: list[str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in names:
            info = tarfile.TarInfo(name)
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
    return buf.getvalue()


@pytest.mark.parametrize("name", ["docs/a\nb.md", "docs/tab\there.md", "docs/esc\x1b[31m.md", "docs/del\x7f.md"])
def test_control_characters_in_member_names_are_refused_once(tmp_path: Path, name: str) -> None:
    with pytest.raises(errors.BadMemberName) as info:
        archives.extract_archive(_tar(["docs/index.md", name]), tmp_path / "src", max_bytes=10**6)
    assert info.value.code == "bad_member_name" and repr(name)[1:-1] in info.value.message
    assert not (tmp_path / "src").exists()


def test_long_names_are_refused_without_a_server_path(tmp_path: Path) -> None:
    dest = tmp_path / "src"
    with pytest.raises(errors.BadMemberName) as info:
        archives.extract_archive(_tar(["docs/" + "n" * 300 + ".md"]), dest, max_bytes=10**6)
    assert str(tmp_path) not in info.value.message and "docs/nnn" in info.value.message
    assert not dest.exists()


def test_triggers_stored_before_redaction_are_redacted_when_shown() -> None:
    now = time.time()
    old = Job(id="bld_old", kind="build", status="FAILED", priority=50, attempt=1, max_attempts=3, created_at=now,
              updated_at=now, trigger={"kind": "api", "repository": "https://ci:s3cret@git.example.com/x.git",
                                       "url": "https://tok@git.example.com/x.git"})
    shown = str(status.job_view(old)) + str(present.trigger_view(old.trigger))
    assert "s3cret" not in shown and "tok@" not in shown and "https://git.example.com/x.git" in shown


def test_tar_member_limit_is_checked_while_streaming(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The limit (lowered here) stops the read at member limit + 1; the daemon test uses the real 100,000."""
    monkeypatch.setattr(archives, "MAX_MEMBERS", 50)
    with pytest.raises(errors.TooManyMembers):
        archives.extract_archive(_tar([f"d/{i}.md" for i in range(51)]), tmp_path / "a", max_bytes=10**6)
    archives.extract_archive(_tar([f"d/{i}.md" for i in range(50)]), tmp_path / "b", max_bytes=10**6)
    assert len(list((tmp_path / "b" / "d").iterdir())) == 50


def test_zip_end_record_is_read_before_the_central_directory() -> None:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(3):
            zf.writestr(f"{i}.md", "x")
    assert archives.zip_entry_count(buf.getvalue()) == 3
    assert archives.zip_entry_count(b"PK\x03\x04 not a zip") is None
