"""Archives and snapshots: nothing escapes the job workspace."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from pipeline import errors
from pipeline.intake import archives, snapshot
from tests.conftest import make_tree, tar_gz


def _tar(members: list[tarfile.TarInfo], payload: bytes = b"x") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for m in members:
            if m.isfile():
                m.size = len(payload)
                tar.addfile(m, io.BytesIO(payload))
            else:
                tar.addfile(m)
    return buf.getvalue()


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def test_extracts_a_good_archive(tmp_path: Path) -> None:
    dest = tmp_path / "src"
    archives.extract_archive(tar_gz({"docs/en/index.md": "# Hi", "docs/en/img/a.png": b"\x89PNG"}), dest, max_bytes=10**6)
    root = archives.unwrap_single_dir(dest)
    assert root == dest / "docs" and (root / "en" / "index.md").read_text() == "# Hi"


@pytest.mark.parametrize("member", ["../evil.md", "/etc/evil.md", "a/../../evil.md"])
def test_paths_that_climb_out_are_refused(tmp_path: Path, member: str) -> None:
    with pytest.raises(errors.UnsafeArchive):
        archives.extract_archive(_tar([tarfile.TarInfo(member)]), tmp_path / "src", max_bytes=10**6)
    assert not (tmp_path / "src").exists()
    assert not (tmp_path / "evil.md").exists()


@pytest.mark.parametrize("link", [_link("a.md", "/etc/passwd"), _link("a.md", "../../etc/passwd"),
                                  _link("d/a.md", "../../x"), _link("a.md", "/etc/passwd", tarfile.LNKTYPE)])
def test_links_that_leave_are_refused(tmp_path: Path, link: tarfile.TarInfo) -> None:
    with pytest.raises(errors.UnsafeArchive):
        archives.extract_archive(_tar([link]), tmp_path / "src", max_bytes=10**6)
    assert not (tmp_path / "src").exists()


def test_device_files_are_refused(tmp_path: Path) -> None:
    dev = tarfile.TarInfo("dev")
    dev.type = tarfile.CHRTYPE
    with pytest.raises(errors.UnsafeArchive):
        archives.extract_archive(_tar([dev]), tmp_path / "src", max_bytes=10**6)


def test_zip_slip_and_zip_symlink(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../../evil.md", "x")
    with pytest.raises(errors.UnsafeArchive):
        archives.extract_archive(buf.getvalue(), tmp_path / "a", max_bytes=10**6)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo("link.md")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(errors.UnsafeArchive):
        archives.extract_archive(buf.getvalue(), tmp_path / "b", max_bytes=10**6)


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.md", b"0" * (5 * 2**20))
    with pytest.raises(errors.PayloadTooLarge):
        archives.extract_archive(buf.getvalue(), tmp_path / "z", max_bytes=2**20)


@pytest.mark.parametrize("data", [b"", b"hello, not an archive", b"\x1f\x8b\x08\x00garbage-gzip", b"PK\x03\x04broken"])
def test_malformed_archives(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(errors.InvalidArchive):
        archives.extract_archive(data, tmp_path / "m", max_bytes=10**6)
    assert not (tmp_path / "m").exists()


def test_empty_archive(tmp_path: Path) -> None:
    with pytest.raises(errors.InvalidArchive, match="empty"):
        archives.extract_archive(_tar([]), tmp_path / "e", max_bytes=10**6)


def test_snapshot_skips_temp_files_vcs_and_outside_links(tmp_path: Path) -> None:
    outside = make_tree(tmp_path / "outside", {"secret.txt": "top secret"})
    src = make_tree(tmp_path / "live", {"en/index.md": "# Hi", "en/.#index.md": "lock", "en/index.md~": "bak",
                                        "en/.index.md.swp": "swap", ".git/config": "[core]", "en/inner.md": "in"})
    os.symlink(outside / "secret.txt", src / "en" / "leak.md")
    os.symlink(src / "en" / "inner.md", src / "en" / "alias.md")
    dest = tmp_path / "snap"
    snapshot.copy_tree(src, dest)
    files = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert files == ["en/alias.md", "en/index.md", "en/inner.md"]
    assert not (dest / "en" / "alias.md").is_symlink()


def test_tree_hash_depends_on_content_only(tmp_path: Path) -> None:
    a = make_tree(tmp_path / "a", {"x.md": "1", "d/y.md": "2"})
    b = make_tree(tmp_path / "b", {"d/y.md": "2", "x.md": "1", "x.md~": "editor backup"})
    assert snapshot.tree_hash(a) == snapshot.tree_hash(b)
    (b / "x.md").write_text("changed")
    assert snapshot.tree_hash(a) != snapshot.tree_hash(b)


def test_link_chain_that_escapes_only_on_disk(tmp_path: Path) -> None:
    """``a/x -> .`` then ``a/b -> x/../..``: each link looks inside, together they leave."""
    d = tarfile.TarInfo("a")
    d.type = tarfile.DIRTYPE
    evil = tarfile.TarInfo("a/b/evil.md")
    with pytest.raises(errors.UnsafeArchive):
        archives.extract_archive(_tar([d, _link("a/x", "."), _link("a/b", "x/../.."), evil]),
                                  tmp_path / "ws" / "src", max_bytes=10**6)
    assert not list(tmp_path.rglob("evil.md"))
    assert not (tmp_path / "ws" / "src").exists()


def test_zip_link_chain_that_escapes_only_on_disk(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, target in [("a/x", "."), ("a/b", "x/../..")]:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
        zf.writestr("a/b/evil.md", "evil")
    with pytest.raises(errors.UnsafeArchive):
        archives.extract_archive(buf.getvalue(), tmp_path / "ws" / "src", max_bytes=10**6)
    assert not list(tmp_path.rglob("evil.md"))
    assert not (tmp_path / "ws" / "src").exists()


def test_zip_links_inside_are_kept(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("en/index.md", "# Hi")
        info = zipfile.ZipInfo("en/home.md")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "index.md")
    archives.extract_archive(buf.getvalue(), tmp_path / "src", max_bytes=10**6)
    assert (tmp_path / "src" / "en" / "home.md").read_text() == "# Hi"
