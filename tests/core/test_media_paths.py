"""core.media: a task's media path can name only files under the allowed folders; no traversal, no other scheme."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.media import resolve_media
from core.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    data = tmp_path / "data"
    (data / "media" / "uploads").mkdir(parents=True)
    (data / "media" / "uploads" / "cat.png").write_bytes(b"png")
    (tmp_path / "media-root").mkdir()
    (tmp_path / "media-root" / "dog.png").write_bytes(b"png")
    (tmp_path / "secret.txt").write_text("not media")
    return Settings(database_url="sqlite://", data_dir=data, media_roots=(tmp_path / "media-root",), seed_demo=False)


def test_files_under_the_allowed_folders_resolve(settings: Settings) -> None:
    assert resolve_media("/data/upload/cat.png", settings).path == (settings.uploads_dir / "cat.png").resolve()
    assert resolve_media("/data/local-files/?d=dog.png", settings).path is not None


@pytest.mark.parametrize("url", [
    "/data/local-files/?d=../secret.txt",
    "/data/local-files/?d=..%2Fsecret.txt",
    "/data/local-files/?d=%2E%2E/secret.txt",
    "/data/local-files/?d=/etc/passwd",
    "/data/local-files/?d=dog.png%00.txt",
    "/data/upload/../../secret.txt",
    "/data/upload/%2E%2E/%2E%2E/secret.txt",
    "file:///etc/passwd",
    "gs://bucket/x.png",
    "s3://someone-elses-bucket/x.png",  # no source connection signs it
    "//evil.example/x.png",
    "/etc/passwd",
])
def test_traversal_other_schemes_and_unknown_places_are_refused(settings: Settings, url: str) -> None:
    ref = resolve_media(url, settings)
    assert not ref.available, (url, ref)


def test_a_symlink_out_of_a_media_folder_is_refused(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "media-root" / "link.txt").symlink_to(tmp_path / "secret.txt")
    assert not resolve_media("/data/local-files/?d=link.txt", settings).available
