"""The local stack: moto stands in for AWS; `template.yaml` is the single source of its resources.

`LocalStack` reads the template, creates every resource in moto by logical id, runs the real handlers
in-process for HTTP routes, SQS event sources, Step Functions tasks, EventBridge rules and schedules.
"""

from saldo_tools.localstack.stack import LocalStack

__all__ = ["LocalStack"]
