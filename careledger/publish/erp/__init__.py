"""ERP posting: balanced, idempotent, PHI-free journal files for Oracle Fusion (FBDI),
Dynamics 365 Finance (general journal entity), NetSuite (journal entry JSON),
SAP S/4HANA Cloud (journal entry SOAP) and a generic JSON with a JSON Schema; the targets
are listed once, in :mod:`careledger.publish.erp.targets`. See docs/erp_posting.md."""

from careledger.publish.erp.base import ExportBatch, ExportValidationError, RenderedFile
from careledger.publish.erp.publisher import PublishResult, publish_erp
from careledger.publish.erp.targets import TARGETS, make_adapter

__all__ = [
    "TARGETS",
    "ExportBatch",
    "ExportValidationError",
    "PublishResult",
    "RenderedFile",
    "make_adapter",
    "publish_erp",
]
