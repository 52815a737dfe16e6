"""How the stack reads a template: creation order, refusals, template-defined schedules, lifecycle."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from saldo_tools.localstack import LocalStack
from tests.localstack.conftest import FIXTURE, function_name, records

HEADER = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
"""


def template(tmp_path, body: str) -> LocalStack:
    (tmp_path / "template.yaml").write_text(HEADER + textwrap.indent(textwrap.dedent(body), "  "))
    return LocalStack(tmp_path, tick=3600)


def test_resources_are_created_after_what_they_reference():
    order = LocalStack(FIXTURE).creation_order()
    # ApiFunction comes first in the file but refers to the state machine, a function, a role and a group
    for dependency in ("FanOutStateMachine", "ScheduledFunction", "SchedulerRole", "FixtureScheduleGroup"):
        assert order.index(dependency) < order.index("ApiFunction")
    assert order.index("ItemFunction") < order.index("FanOutStateMachine")
    assert order.index("JobDeadLetterQueue") < order.index("JobQueue")
    assert order.index("AuthorizerFunction") < order.index("HttpApi")


def test_circular_references_are_refused(tmp_path):
    stack = template(
        tmp_path,
        """
        A:
          Type: AWS::SQS::Queue
          Properties:
            RedrivePolicy: {deadLetterTargetArn: !GetAtt B.Arn, maxReceiveCount: 2}
        B:
          Type: AWS::SQS::Queue
          Properties:
            RedrivePolicy: {deadLetterTargetArn: !GetAtt A.Arn, maxReceiveCount: 2}
        """,
    )
    with pytest.raises(ValueError, match=r"circular references between \['A', 'B'\]"):
        stack.creation_order()


def test_an_unsupported_resource_type_stops_the_start(tmp_path, monkeypatch):
    monkeypatch.delenv("SALDO_LOCAL", raising=False)
    stack = template(
        tmp_path,
        """
        Topic:
          Type: AWS::SNS::Topic
        """,
    )
    with pytest.raises(ValueError, match="AWS::SNS::Topic"):
        stack.start()
    assert "SALDO_LOCAL" not in os.environ  # the half-done start was undone
    LocalStack(FIXTURE, tick=3600).start().stop()  # and nothing is left running


def test_a_missing_definition_substitution_is_refused(tmp_path):
    (tmp_path / "sm.asl.json").write_text(
        json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "${Nope}", "End": True}}})
    )
    stack = template(
        tmp_path,
        """
        Machine:
          Type: AWS::Serverless::StateMachine
          Properties:
            DefinitionUri: sm.asl.json
            DefinitionSubstitutions: {Other: x}
        """,
    )
    with pytest.raises(ValueError, match=r"DefinitionSubstitutions does not define \['Nope'\]"):
        stack.start()


def test_schedules_defined_in_the_template_fire(tmp_path):
    stack = template(
        tmp_path,
        f"""
        RecordTable:
          Type: AWS::DynamoDB::Table
          Properties:
            BillingMode: PAY_PER_REQUEST
            AttributeDefinitions:
              - {{AttributeName: pk, AttributeType: S}}
              - {{AttributeName: sk, AttributeType: S}}
            KeySchema: [{{AttributeName: pk, KeyType: HASH}}, {{AttributeName: sk, KeyType: RANGE}}]
        Nightly:
          Type: AWS::Serverless::Function
          Properties:
            CodeUri: {FIXTURE / "src"}
            Handler: fx_recorder.handler
            Runtime: python3.11
            Environment: {{Variables: {{RECORD_TABLE: !Ref RecordTable}}}}
            Events:
              Night:
                Type: ScheduleV2
                Properties:
                  ScheduleExpression: cron(30 2 * * ? *)
                  ScheduleExpressionTimezone: Europe/Oslo
                  Input: '{{"job": "nightly"}}'
        Hourly:
          Type: AWS::Events::Rule
          Properties:
            ScheduleExpression: rate(1 hour)
            Targets:
              - Id: nightly
                Arn: !GetAtt Nightly.Arn
                Input: '{{"job": "hourly"}}'
        """,
    )
    with stack:
        name = function_name(stack, "Nightly")
        [schedule] = stack.client("scheduler").list_schedules()["Schedules"]
        assert schedule["Name"] == "Nightly-Night"
        now = datetime.now(UTC)
        oslo = now.astimezone(ZoneInfo("Europe/Oslo"))
        night = oslo.replace(hour=2, minute=30, second=0, microsecond=0)
        night = (night if night > oslo else night + timedelta(days=1)).astimezone(UTC)

        stack.fire_due(now + timedelta(minutes=59))
        stack.drain(timeout=20)
        assert {"job": "hourly"} not in records(stack, name)
        stack.fire_due(now + timedelta(minutes=61))
        stack.drain(timeout=20)
        assert {"job": "hourly"} in records(stack, name)

        stack.fire_due(night - timedelta(seconds=1))
        stack.drain(timeout=20)
        assert {"job": "nightly"} not in records(stack, name)
        stack.fire_due(night + timedelta(seconds=1))
        stack.drain(timeout=20)
        assert {"job": "nightly"} in records(stack, name)


def test_two_handler_modules_with_one_name_are_refused(tmp_path, monkeypatch):
    from saldo_tools.localstack.functions import LambdaError

    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "modules", dict(sys.modules))
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "dup_named_handler.py").write_text(
            f"def handler(e, c):\n    return {folder!r}\n"
        )
    stack = template(
        tmp_path,
        """
        A:
          Type: AWS::Serverless::Function
          Properties: {CodeUri: a/, Handler: dup_named_handler.handler, Runtime: python3.11}
        B:
          Type: AWS::Serverless::Function
          Properties: {CodeUri: b/, Handler: dup_named_handler.handler, Runtime: python3.11}
        """,
    )
    with stack:
        outcomes = {}
        for fn in ("A", "B"):
            try:
                outcomes[fn] = stack.runtime.invoke(fn, {})
            except LambdaError as err:
                outcomes[fn] = err.payload
    ok = [fn for fn, out in outcomes.items() if out in ("a", "b")]
    assert len(ok) == 1 and outcomes[ok[0]] == ok[0].lower()  # the one that loaded ran its own code
    [refused] = [out for out in outcomes.values() if isinstance(out, dict)]
    assert refused["errorType"] == "ImportError"
    assert "unique names" in refused["errorMessage"]


def test_only_one_stack_runs_at_a_time_and_stop_puts_everything_back(monkeypatch):
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.events.models import Rule
    from moto.sqs.models import Queue

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("MOTO_PORT", raising=False)
    originals = (LambdaSimpleBackend.invoke, Rule.send_to_targets, Queue.add_message)
    stack = LocalStack(FIXTURE, server=True, tick=3600).start(api_port=0)
    try:
        assert os.environ["AWS_ENDPOINT_URL"] == stack.moto_url
        assert LambdaSimpleBackend.invoke is not originals[0]
        with pytest.raises(RuntimeError, match="already running"):
            LocalStack(FIXTURE).start()
    finally:
        stack.stop()
    assert "AWS_ENDPOINT_URL" not in os.environ and "MOTO_PORT" not in os.environ
    assert "RECORD_TABLE" not in os.environ
    assert (LambdaSimpleBackend.invoke, Rule.send_to_targets, Queue.add_message) == originals
    assert not any(t.is_alive() for t in stack._threads)
    stack.stop()  # a second stop is harmless
    with LocalStack(FIXTURE, tick=3600) as again:  # and the next stack starts cleanly
        assert again.client("sqs").list_queues()["QueueUrls"]


def test_the_fixture_is_a_valid_sam_template():
    """The fixture exercises only wiring that SAM accepts (cfn-lint errors and warnings)."""
    from cfnlint.api import lint_all

    problems = [m for m in lint_all((FIXTURE / "template.yaml").read_text()) if m.rule.id[0] in "EW"]
    assert problems == []
