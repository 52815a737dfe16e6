"""Norwegian SAF-T Financial: streaming import (1.10, 1.20, 1.30) and export (1.30).

Pure modules (no AWS): `safety` (upload checks, zip handling, DTD refusal), `parser` (streaming
iterparse with XSD validation), `mapping` (SAF-T ids and codes to Saldo's), `validation` (references,
totals, reconciliation), `importer` (one atomic ledger commit), `writer` (streaming XML writer) and
`exporter` (ledger to 1.30 file). `aws` and `jobs` hold the S3/DynamoDB/SQS/SES side.
"""

from __future__ import annotations

from saldo.errors import Unprocessable

NAMESPACE = "urn:StandardAuditFile-Taxation-Financial:NO"
NS = "{" + NAMESPACE + "}"
EXPORT_VERSION = "1.30"


class SaftError(Unprocessable):
    """A SAF-T file that cannot be imported: malformed, unsafe, invalid or inconsistent.

    `code` is a stable machine-readable reason (`unsafe_file`, `schema`, `unbalanced_voucher`, ...).
    """

    def __init__(self, code: str, message: str, *, details: list[dict] | None = None) -> None:
        super().__init__(message, details=details)
        self.code = code

    def as_issue(self) -> dict:
        out: dict = {"code": self.code, "message": self.message}
        if self.details:
            out["details"] = self.details
        return out


class UnsafeFile(SaftError):
    """Refused for safety before or while parsing (DTD, entities, zip bomb, oversized member)."""

    def __init__(self, message: str, *, details: list[dict] | None = None) -> None:
        super().__init__("unsafe_file", message, details=details)
