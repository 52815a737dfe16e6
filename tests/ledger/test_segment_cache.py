"""The /tmp segment cache stays under its byte bound, evicts the least recently used, keeps what is in use."""

from __future__ import annotations

from pathlib import Path

from saldo.ledger.segment_cache import SegmentCache


def _writer(size: int, calls: list[str], key: str):
    def download(path: Path) -> None:
        calls.append(key)
        path.write_bytes(b"x" * size)

    return download


def test_a_key_is_downloaded_once(tmp_path):
    cache = SegmentCache(tmp_path, max_bytes=1000)
    calls: list[str] = []
    a = cache.get("a", _writer(100, calls, "a"))
    assert cache.get("a", _writer(100, calls, "a")) == a
    assert calls == ["a"] and a.read_bytes() == b"x" * 100


def test_the_least_recently_used_go_first_and_the_bound_holds(tmp_path):
    cache = SegmentCache(tmp_path, max_bytes=300)
    calls: list[str] = []
    paths = {k: cache.get(k, _writer(100, calls, k)) for k in "abc"}
    cache.get("a", _writer(100, calls, "a"))  # a is now the most recently used
    cache.get("d", _writer(100, calls, "d"))
    assert not paths["b"].exists() and paths["a"].exists() and paths["c"].exists()
    assert cache.size() == 300
    assert sum(p.stat().st_size for p in tmp_path.glob("*.parquet")) == 300
    cache.get("b", _writer(100, calls, "b"))
    assert calls == ["a", "b", "c", "d", "b"]


def test_segments_in_use_are_never_evicted(tmp_path):
    cache = SegmentCache(tmp_path, max_bytes=150)
    calls: list[str] = []
    first = cache.get("a", _writer(100, calls, "a"))
    second = cache.get("b", _writer(100, calls, "b"), pinned=[first])
    assert first.exists() and second.exists()  # over the bound for as long as one caller needs both
    cache.get("c", _writer(100, calls, "c"))
    assert not first.exists() and not second.exists()


def test_files_left_by_an_earlier_process_count(tmp_path):
    calls: list[str] = []
    SegmentCache(tmp_path, max_bytes=10_000).get("a", _writer(100, calls, "a"))
    later = SegmentCache(tmp_path, max_bytes=150)
    later.get("b", _writer(100, calls, "b"))
    assert len(list(tmp_path.glob("*.parquet"))) == 1 and later.size() == 100


def test_the_default_bound_is_a_share_of_the_disk(tmp_path, monkeypatch):
    monkeypatch.delenv("SALDO_CACHE_MAX_BYTES", raising=False)
    assert SegmentCache(tmp_path).max_bytes > 0
    monkeypatch.setenv("SALDO_CACHE_MAX_BYTES", "1234")
    assert SegmentCache(tmp_path).max_bytes == 1234
