"""Delivery of published ERP journals over each ERP's API (docs/erp_posting.md, "Delivery")."""
