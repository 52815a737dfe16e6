"""A batch's finished reports as one zip: the streaming writer alone, then the route and the job on the
local stack (202 while written, 303 to it; failed parts abort; one job for requests at once)."""

from __future__ import annotations

import io
import json
import os
import threading
import zipfile
from urllib.parse import parse_qs, urlsplit

import pytest
from pypdf import PdfReader

from saldo.batches import archive
from saldo_tools import demo_registry as d
from tests.batches.test_batches import BATCHES, items, presigned, wait
from tests.ledger.helpers import make_client_account

MIB = 1024 * 1024


# ---------------------------------------------------------------- the writer, with a fake uploader
class FakeUploader:
    def __init__(self, fail_on: int | None = None) -> None:
        self.parts: list[tuple[int, bytes]] = []
        self.fail_on = fail_on
        self.completed = self.aborted = False

    def upload_part(self, number: int, data: bytes) -> None:
        if number == self.fail_on:
            raise OSError(f"part {number}: connection reset")
        self.parts.append((number, data))

    def complete(self) -> None:
        self.completed = True

    def abort(self) -> None:
        self.aborted = True

    def body(self) -> bytes:
        return b"".join(data for _, data in self.parts)


class Source(io.RawIOBase):
    """`size` pseudo-random (incompressible) bytes, made as they are read; remembers its largest read."""

    def __init__(self, seed: int, size: int, reads: list[int]) -> None:
        self.seed, self.left, self.reads = seed, size, reads

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        self.reads.append(n)
        self.left -= n
        return os.urandom(n) if n else b""


def entries(count: int, size: int, reads: list[int]) -> list[archive.Entry]:
    return [
        archive.Entry(f"report {i:03d}.pdf", lambda i=i: Source(i, size, reads), size=size)
        for i in range(count)
    ]


def test_the_writer_streams_parts_of_the_set_size_and_never_holds_more_than_a_part_and_a_chunk(monkeypatch):
    monkeypatch.setattr(archive, "MIN_PART_SIZE", 1 * MIB)
    part, chunk, reads = 1 * MIB, 64 * 1024, []
    up = FakeUploader()
    written = []
    summary = archive.write_zip(
        entries(30, 300_000, reads), up, part_size=part, chunk_size=chunk, on_entry=written.append
    )
    # 30 × 300 kB of incompressible bytes: about 9 MB, so nine parts and a last short one
    assert up.completed and not up.aborted and summary.entries == 30 and written == list(range(1, 31))
    assert summary.parts == len(up.parts) >= 8 and [n for n, _ in up.parts] == list(
        range(1, summary.parts + 1)
    )
    sizes = [len(data) for _, data in up.parts]
    assert all(part <= s <= part + chunk + 4096 for s in sizes[:-1]), sizes
    assert summary.peak_buffer <= part + chunk + 4096 and max(reads) <= chunk
    assert summary.bytes == len(up.body()) > 30 * 300_000
    with zipfile.ZipFile(io.BytesIO(up.body())) as zf:
        assert zf.testzip() is None
        assert [i.file_size for i in zf.infolist()] == [300_000] * 30
        assert zf.namelist() == [f"report {i:03d}.pdf" for i in range(30)]


def test_a_failing_part_aborts_the_upload_and_raises():
    up = FakeUploader(fail_on=2)
    with pytest.raises(OSError, match="part 2"):
        archive.write_zip(entries(4, 3 * MIB, []), up, part_size=5 * MIB)
    assert up.aborted and not up.completed and len(up.parts) == 1


def test_the_writer_refuses_small_parts_empty_archives_and_duplicate_names():
    with pytest.raises(ValueError, match="at least"):
        archive.write_zip([], FakeUploader(), part_size=MIB)
    up = FakeUploader()
    with pytest.raises(archive.EmptyArchive):
        archive.write_zip([], up)
    assert up.aborted and not up.completed
    twice = [
        archive.Entry("a.pdf", lambda: io.BytesIO(b"x")),
        archive.Entry("a.pdf", lambda: io.BytesIO(b"y")),
    ]
    up = FakeUploader()
    with pytest.raises(ValueError, match="two entries"):
        archive.write_zip(twice, up)
    assert up.aborted


def test_many_entries_get_zip64_end_records():
    up = FakeUploader()
    many = [archive.Entry(f"{i}.pdf", lambda: io.BytesIO(b"%PDF")) for i in range(70_000)]
    archive.write_zip(many, up)
    body = up.body()
    assert b"PK\x06\x06" in body[-200:]  # the ZIP64 end of central directory record
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        assert len(zf.infolist()) == 70_000


# ---------------------------------------------------------------- the route and the job
@pytest.fixture
def demo(api, tenant):
    ca = make_client_account(api)
    d.load_demo_registry(tenant["org_id"], ca)
    return api


def _batch(api, name="Kunder Q4 / Zip"):
    body = {
        "batchName": name,
        "type": "Revision",
        "format": "{cvr}-{name}",
        "items": [
            {"cvr": d.NORDLYS_DRIFT, "internalCustomerId": 1},
            {"cvr": d.SPREDT},
            {"cvr": d.NORDLYS_DRIFT, "internalCustomerId": 2},
            {"cvr": "10403782"},  # not in the registry: Failed, no PDF
        ],
    }
    res = api.post(BATCHES, json_body=body)
    assert res.status == 201, res.text
    done, _ = wait(api, res.json()["id"])
    assert (done["completed"] + done["warnings"], done["failed"]) == (3, 1), done
    return done


def _zip_path(batch_id):
    return f"{BATCHES}/{batch_id}/zip"


def _work_queue(stack):
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName="saldo-work-local")["QueueUrl"]
    return sqs, url


def _queued(stack) -> list[dict]:
    """The work queue's messages, each once (they stay on the queue)."""
    sqs, url = _work_queue(stack)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=5).get("Messages", [])
    for m in got:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    return [json.loads(m["Body"]) for m in got]


def test_a_batch_zip_is_written_by_a_job_then_redirected_to(demo, stack, tenant):
    api, org = demo, tenant["org_id"]
    batch = _batch(api)
    path = _zip_path(batch["id"])
    with stack.hold_event_sources():
        first = api.get(path)
        assert first.status == 202, first.text
        body = first.json()
        assert (body["status"], body["progress"], body["itemsIncluded"], body["batchSize"]) == (
            "QUEUED",
            0,
            3,
            4,
        )
        assert body["complete"] is True and body["fileName"] == "Kunder Q4 _ Zip.zip"
        assert first.headers["location"].endswith(path) and int(first.headers["retry-after"]) > 0
        again = api.follow(first.headers["location"])  # Location is the same URL, stage included
        assert again.status == 202 and again.json()["status"] == "QUEUED"
    stack.drain(timeout=60)
    ready = api.get(path)
    assert ready.status == 303, ready.text
    url = ready.headers["location"]
    assert ready.json()["url"] == url and ready.json()["status"] == "SUCCEEDED"
    query = parse_qs(urlsplit(url).query)
    assert 'filename="Kunder Q4 _ Zip.zip"' in query["response-content-disposition"][0]
    data = presigned(stack, url)
    expected = {f"{i['name']}.pdf" for i in items(api, batch["id"]) if i["status"] != "Failed"}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert set(zf.namelist()) == expected and len(zf.namelist()) == 3
        for name in zf.namelist():
            reader = PdfReader(io.BytesIO(zf.read(name)))
            assert len(reader.pages) >= 1
    assert not any(n.endswith("10403782.pdf") for n in expected)
    # A redelivered job message writes nothing again: one zip, untouched
    s3 = stack.client("s3")
    bucket = stack.env()["SALDO_DOCUMENT_BUCKET"]
    prefix = f"batches/{org}/{batch['id']}/"
    before = {o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]}
    sqs, queue = _work_queue(stack)
    message = {"type": "batch_zip", "org_id": org, "job_id": f"{batch['id']}-3"}
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(message))
    stack.drain(timeout=30)
    after = {o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]}
    assert after == before and sum(k.endswith(".zip") for k in after) == 1
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
    assert api.get(path).status == 303


def test_two_requests_at_once_start_one_job(demo, stack):
    api = demo
    batch = _batch(api)
    answers = []
    with stack.hold_event_sources():
        start = threading.Barrier(4)

        def ask():
            start.wait()
            answers.append(api.get(_zip_path(batch["id"])))

        threads = [threading.Thread(target=ask) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [a.status for a in answers] == [202] * 4
        assert [m["type"] for m in _queued(stack)] == ["batch_zip"]
    stack.drain(timeout=60)
    assert api.get(_zip_path(batch["id"])).status == 303


def test_a_failing_part_aborts_the_upload_fails_the_job_and_the_next_request_retries(
    demo, stack, tenant, monkeypatch
):
    _org = tenant["org_id"]
    from saldo.adapters import multipart

    api = demo
    batch = _batch(api)
    calls = []
    upload = multipart.S3MultipartUpload.upload_part

    def broken(self, number, data):
        calls.append(number)
        raise OSError("S3 said no")

    monkeypatch.setattr(multipart.S3MultipartUpload, "upload_part", broken)
    assert api.get(_zip_path(batch["id"])).status == 202
    stack.drain(timeout=60)
    s3, bucket = stack.client("s3"), stack.env()["SALDO_DOCUMENT_BUCKET"]
    assert calls and not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")  # aborted
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="batches/").get("Contents", [])
    assert not [o for o in listed if o["Key"].endswith(".zip")]
    from saldo.adapters.jobstatus import BATCH_ZIP, JobStatusStore

    job = JobStatusStore(BATCH_ZIP).get(_org, f"{batch['id']}-3")
    assert job["status"] == "FAILED" and "S3 said no" in job["errors"][0]
    # The next request starts it again and says what went wrong before
    monkeypatch.setattr(multipart.S3MultipartUpload, "upload_part", upload)
    with stack.hold_event_sources():
        retry = api.get(_zip_path(batch["id"]))
        assert retry.status == 202 and "S3 said no" in retry.json()["previousAttemptErrors"][0]
    stack.drain(timeout=60)
    assert api.get(_zip_path(batch["id"])).status == 303
    # after the last attempt fails, the answer is a 409 with the reason
    JobStatusStore(BATCH_ZIP).update(
        _org, f"{batch['id']}-3", {"status": "FAILED", "attempts": 3, "errors": ["x"]}
    )
    gone = api.get(_zip_path(batch["id"]))
    assert gone.status == 409 and "after 3 attempts: x" in gone.json()["message"]


def test_a_running_batch_gets_what_has_finished_and_an_empty_one_a_409(demo, stack, tenant):
    _org = tenant["org_id"]
    from saldo.adapters.jobstatus import BATCH, JobStatusStore

    api = demo
    batch = _batch(api)
    # As if the batch were still running with more companies to go
    JobStatusStore(BATCH).update(_org, batch["id"], {"status": "Executing", "batchSize": 10})
    with stack.hold_event_sources():
        body = api.get(_zip_path(batch["id"])).json()
    assert (body["itemsIncluded"], body["batchSize"], body["complete"]) == (3, 10, False)
    assert "still Executing" in body["note"]
    stack.drain(timeout=60)
    assert api.get(_zip_path(batch["id"])).status == 303
    only_failed = api.post(
        BATCHES,
        json_body={"batchName": "x", "type": "Revision", "format": "{cvr}", "items": [{"cvr": "10403782"}]},
    ).json()
    wait(api, only_failed["id"])
    res = api.get(_zip_path(only_failed["id"]))
    assert res.status == 409 and "no finished report" in res.json()["message"]
    assert api.get(_zip_path("bat_20990101000000_000000000000")).status == 404
