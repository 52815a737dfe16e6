"""SQS event sources, Step Functions with real handlers, EventBridge rules and schedules (in-process)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.localstack.conftest import function_name, records


def send(stack, *bodies):
    sqs = stack.client("sqs")
    url = stack.resolver.refs["JobQueue"]
    return [sqs.send_message(QueueUrl=url, MessageBody=json.dumps(b))["MessageId"] for b in bodies]


def dead_letters(stack):
    sqs = stack.client("sqs")
    url = stack.resolver.refs["JobDeadLetterQueue"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])
    return messages.get("Messages", [])


# ---------------------------------------------------------------- SQS


def test_a_message_reaches_its_worker(fx):
    [message_id] = send(fx, {"n": 1})
    fx.drain(timeout=20)
    assert records(fx, "job") == [{"body": {"n": 1}, "receive_count": "1"}]
    assert records(fx, "batch") == [{"size": 1, "ids": [message_id]}]


def test_batch_size_is_honoured(fx):
    with fx.hold_event_sources():
        ids = send(fx, *({"n": n} for n in range(7)))
    fx.drain(timeout=20)
    batches = records(fx, "batch")
    assert [b["size"] for b in batches] == [3, 3, 1]  # BatchSize: 3 in the template
    assert [i for b in batches for i in b["ids"]] == ids
    assert sorted(j["body"]["n"] for j in records(fx, "job")) == list(range(7))


def test_a_failing_record_lands_in_the_dlq_while_its_batch_mates_succeed(fx):
    with fx.hold_event_sources():
        ok1, bad, ok2 = send(fx, {"n": "ok1"}, {"n": "bad", "fail": True}, {"n": "ok2"})
    fx.drain(timeout=20)
    # the good records ran once: the batch was not retried as a whole
    assert sorted(j["body"]["n"] for j in records(fx, "job")) == ["ok1", "ok2"]
    deliveries = [b["ids"] for b in records(fx, "batch")]
    assert deliveries[0] == [ok1, bad, ok2]
    assert sum(ids.count(bad) for ids in deliveries) == 2  # maxReceiveCount: 2
    [dead] = dead_letters(fx)
    assert dead["MessageId"] == bad
    assert json.loads(dead["Body"]) == {"n": "bad", "fail": True}


def test_a_crashing_batch_is_retried_whole_and_the_traceback_is_printed(fx, capfd):
    with fx.hold_event_sources():
        [crash] = send(fx, {"crash": True})
    fx.drain(timeout=20)
    assert [b["ids"] for b in records(fx, "batch")] == [[crash], [crash]]
    assert [m["MessageId"] for m in dead_letters(fx)] == [crash]
    err = capfd.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "RuntimeError: worker crashed on the whole batch" in err


# ---------------------------------------------------------------- Step Functions


def test_map_state_runs_the_real_handlers_and_one_failed_item_is_caught(fx):
    items = [{"id": "a"}, {"id": "b", "flaky": True}, {"id": "c", "fail": True}, {"id": "d"}]
    execution = fx.start_execution("FanOutStateMachine", {"items": items})
    desc = fx.wait_for_execution(execution, timeout=30)
    assert desc["status"] == "SUCCEEDED", desc
    results = json.loads(desc["output"])["results"]
    assert results == [
        {"id": "a", "ok": True, "attempt": 1},
        {"id": "b", "ok": True, "attempt": 2},  # TransientError retried once
        {"id": "c", "ok": False, "error": "ValueError"},  # caught: the execution still succeeds
        {"id": "d", "ok": True, "attempt": 1},
    ]
    item_function = function_name(fx, "ItemFunction")
    assert sorted(r["id"] for r in records(fx, "item")) == ["a", "b", "d"]
    assert {r["function"] for r in records(fx, "item")} == {item_function}
    # DefinitionSubstitutions put the table name into the dynamodb:putItem task
    [summary] = records(fx, "summary")
    assert summary == results


# ---------------------------------------------------------------- EventBridge


def put_event(stack, source, detail_type, detail):
    entries = stack.client("events").put_events(
        Entries=[
            {
                "EventBusName": stack.resolver.refs["FixtureBus"],
                "Source": source,
                "DetailType": detail_type,
                "Detail": json.dumps(detail),
            }
        ]
    )
    assert entries["FailedEntryCount"] == 0


def test_an_event_on_the_bus_reaches_the_rules_lambda_target(fx):
    put_event(fx, "fixture.orders", "OrderPlaced", {"order": 7})
    put_event(fx, "fixture.orders", "OrderCancelled", {"order": 8})  # no rule matches
    put_event(fx, "someone.else", "OrderPlaced", {"order": 9})
    fx.drain(timeout=20)
    [event] = records(fx, function_name(fx, "BusListenerFunction"))
    assert event["detail"] == {"order": 7}
    assert event["source"] == "fixture.orders"
    assert event["detail-type"] == "OrderPlaced"
    datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ")  # ISO time, as EventBridge sends it


def test_an_async_handler_exception_is_printed_with_its_traceback(fx, capfd):
    put_event(fx, "fixture.orders", "OrderPlaced", {"explode": True})
    fx.drain(timeout=20)
    assert records(fx, function_name(fx, "BusListenerFunction")) == []
    [failure] = fx.async_errors
    assert failure["error"]["errorType"] == "RuntimeError"
    err = capfd.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "RuntimeError: exploded on purpose" in err


# ---------------------------------------------------------------- schedules


def create_one_time_schedule(stack, name, at, payload, timezone=None):
    body = {"name": name, "at": at, "input": payload}
    if timezone:
        body["timezone"] = timezone
    res = stack.http.handle(
        "POST",
        f"{stack.http.base_path}/schedules",
        {"content-type": "application/json"},
        json.dumps(body).encode(),
    )
    assert res.status == 201, res.body


def test_a_due_one_time_schedule_fires_once_and_is_deleted(fx):
    scheduled = function_name(fx, "ScheduledFunction")
    when = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    create_one_time_schedule(fx, "report-42", when.strftime("%Y-%m-%dT%H:%M:%S"), {"report": 42})
    scheduler = fx.client("scheduler")
    group = fx.resolver.refs["FixtureScheduleGroup"]
    assert scheduler.get_schedule(Name="report-42", GroupName=group)["State"] == "ENABLED"

    fx.fire_due(when - timedelta(seconds=1))
    fx.drain(timeout=20)
    assert records(fx, scheduled) == []

    assert fx.fire_due(when + timedelta(seconds=1)) >= 1
    fx.drain(timeout=20)
    assert records(fx, scheduled) == [{"report": 42}]
    with pytest.raises(scheduler.exceptions.ResourceNotFoundException):
        scheduler.get_schedule(Name="report-42", GroupName=group)  # ActionAfterCompletion: DELETE

    fx.fire_due(when + timedelta(hours=1))
    fx.drain(timeout=20)
    assert len(records(fx, scheduled)) == 1


def test_a_one_time_schedule_is_read_in_its_time_zone(fx):
    scheduled = function_name(fx, "ScheduledFunction")
    create_one_time_schedule(fx, "oslo-noon", "2030-01-15T12:00:00", {"tz": "oslo"}, "Europe/Oslo")
    fx.fire_due(datetime(2030, 1, 15, 10, 59, 59, tzinfo=UTC))  # 11:59:59 in Oslo (UTC+1 in winter)
    fx.drain(timeout=20)
    assert records(fx, scheduled) == []
    fx.fire_due(datetime(2030, 1, 15, 11, 0, 1, tzinfo=UTC))
    fx.drain(timeout=20)
    assert records(fx, scheduled) == [{"tz": "oslo"}]


def test_a_rate_rule_fires_when_due(fx):
    tick = function_name(fx, "TickFunction")
    [rule] = [r for r in fx.client("events").list_rules()["Rules"] if r["Name"] == "TickFunction-Tick"]
    assert rule["ScheduleExpression"] == "rate(5 minutes)"  # the template's Schedule event, in moto
    now = datetime.now(UTC)
    fx.fire_due(now + timedelta(minutes=4))
    fx.drain(timeout=20)
    assert records(fx, tick) == []
    fx.fire_due(now + timedelta(minutes=6))
    fx.drain(timeout=20)
    assert records(fx, tick) == [{"tick": True}]  # the event's Input
    fx.fire_due(now + timedelta(minutes=7))  # next firing is five minutes after the last
    fx.drain(timeout=20)
    assert len(records(fx, tick)) == 1
    fx.fire_due(now + timedelta(minutes=12))
    fx.drain(timeout=20)
    assert len(records(fx, tick)) == 2
