"""ERP posting: balanced, idempotent, PHI-free journal files for Oracle Fusion (FBDI),
Dynamics 365 Finance (general journal entity), NetSuite (journal entry JSON) and a
generic JSON with a JSON Schema. See docs/erp_posting.md."""

from careledger.publish.erp.base import ExportBatch, ExportValidationError, RenderedFile
from careledger.publish.erp.publisher import TARGETS, PublishResult, make_adapter, publish_erp

__all__ = [
    "TARGETS",
    "ExportBatch",
    "ExportValidationError",
    "PublishResult",
    "RenderedFile",
    "make_adapter",
    "publish_erp",
]
