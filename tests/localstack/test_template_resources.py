"""The local stack is built from template.yaml alone: every resource and event source in it exists."""

from __future__ import annotations

from saldo_tools.localstack.template import load_template
from tests.conftest import ROOT


def resources_of(template, rtype):
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == rtype}


def test_every_template_resource_exists_in_moto_under_its_logical_id(stack):
    template = load_template(ROOT / "template.yaml")
    refs = stack.resolver.refs

    tables = resources_of(template, "AWS::DynamoDB::Table")
    assert tables, "template.yaml has no tables?"
    ddb = stack.client("dynamodb")
    assert sorted(ddb.list_tables()["TableNames"]) == sorted(refs[lid] for lid in tables)
    for lid in tables:
        assert ddb.describe_table(TableName=refs[lid])["Table"]["TableStatus"] == "ACTIVE"

    buckets = resources_of(template, "AWS::S3::Bucket")
    s3 = stack.client("s3")
    assert {b["Name"] for b in s3.list_buckets()["Buckets"]} == {refs[lid] for lid in buckets}
    for lid, res in buckets.items():
        rules = res["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])
        if rules:  # expiry rules (by prefix or by tag) are in place
            local = s3.get_bucket_lifecycle_configuration(Bucket=refs[lid])["Rules"]
            assert [r["ID"] for r in local] == [r["Id"] for r in rules]
            for mine, theirs in zip(local, rules, strict=True):
                tags = {t["Key"]: t["Value"] for t in theirs.get("TagFilters", [])}
                filt = mine["Filter"]
                found = filt.get("And", {}).get("Tags", []) + ([filt["Tag"]] if "Tag" in filt else [])
                assert {t["Key"]: t["Value"] for t in found} == tags
                if "ExpirationInDays" in theirs:
                    assert mine["Expiration"]["Days"] == theirs["ExpirationInDays"]

    queues = resources_of(template, "AWS::SQS::Queue")
    urls = stack.client("sqs").list_queues().get("QueueUrls", [])
    assert sorted(urls) == sorted(refs[lid] for lid in queues)
    for lid, res in queues.items():
        policy = res["Properties"].get("RedrivePolicy")
        if policy:  # the DLQ wiring survived: the ARN points at the template's dead-letter queue
            dlq = policy["deadLetterTargetArn"]["Fn::GetAtt"][0]
            attrs = stack.client("sqs").get_queue_attributes(QueueUrl=refs[lid], AttributeNames=["All"])
            assert stack.resolver.attrs[(dlq, "Arn")] in attrs["Attributes"]["RedrivePolicy"]

    buses = resources_of(template, "AWS::Events::EventBus")
    bus_names = {b["Name"] for b in stack.client("events").list_event_buses()["EventBuses"]}
    assert bus_names == {"default"} | {refs[lid] for lid in buses}

    functions = resources_of(template, "AWS::Serverless::Function")
    deployed = {f["FunctionName"] for f in stack.client("lambda").list_functions()["Functions"]}
    assert deployed == {refs[lid] for lid in functions}
    assert set(stack.runtime.specs) == set(functions)

    machines = resources_of(template, "AWS::Serverless::StateMachine")
    listed = {
        m["stateMachineArn"] for m in stack.client("stepfunctions").list_state_machines()["stateMachines"]
    }
    assert listed == {stack.state_machines[lid] for lid in machines}


def test_every_event_source_in_the_template_is_wired(stack):
    template = load_template(ROOT / "template.yaml")
    routes, sqs, rules = set(), set(), set()
    for lid, res in resources_of(template, "AWS::Serverless::Function").items():
        for name, event in (res["Properties"].get("Events") or {}).items():
            props = event.get("Properties", {})
            if event["Type"] == "HttpApi":
                routes.add((props["Method"].upper(), props["Path"], lid))
            elif event["Type"] == "SQS":
                sqs.add((lid, props["Queue"]["Fn::GetAtt"][0], props.get("BatchSize", 10)))
            elif event["Type"] == "Schedule":
                rules.add((f"{lid}-{name}", props["Schedule"]))
    assert {(r.method, r.path, r.function) for r in stack.http.routes} == routes
    by_arn = {stack.resolver.attrs[(q, "Arn")]: q for _, q, _ in sqs}
    assert {(s.function, by_arn[s.queue_arn], s.batch_size) for s in stack.sqs_sources} == sqs
    deployed_rules = {
        (r["Name"], r.get("ScheduleExpression")) for r in stack.client("events").list_rules()["Rules"]
    }
    assert rules <= deployed_rules


def test_functions_see_the_resolved_resource_names(stack):
    env = stack.env()
    refs = stack.resolver.refs
    template = load_template(ROOT / "template.yaml")
    for key, value in template["Globals"]["Function"]["Environment"]["Variables"].items():
        if isinstance(value, dict) and "Ref" in value and value["Ref"] in refs:
            assert env[key] == refs[value["Ref"]], key


def test_queued_work_is_one_job_per_invocation_with_the_visibility_aws_advises():
    """A long job (a SAF-T import or export) can use most of the worker's timeout on its own; batching
    several would time out the batch, and a visibility shorter than six timeouts (AWS's guidance for
    Lambda event sources) would hand a running job to a second worker."""
    template = load_template(ROOT / "template.yaml")
    queues = resources_of(template, "AWS::SQS::Queue")
    default_timeout = template["Globals"]["Function"].get("Timeout", 3)
    for lid, res in resources_of(template, "AWS::Serverless::Function").items():
        timeout = res["Properties"].get("Timeout", default_timeout)
        for event in (res["Properties"].get("Events") or {}).values():
            if event["Type"] != "SQS":
                continue
            queue = queues[event["Properties"]["Queue"]["Fn::GetAtt"][0]]["Properties"]
            assert queue["VisibilityTimeout"] >= 6 * timeout, lid
            if timeout > 60:
                assert event["Properties"].get("BatchSize") == 1, lid
