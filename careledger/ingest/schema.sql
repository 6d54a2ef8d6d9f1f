-- careledger raw layer DDL: the single source of truth for raw_* tables.
-- Every data table ends with the lineage columns (see docs/data_contracts.md):
--   _batch_id, _source_file, _source_record, _record_hash, _loaded_at
-- {lineage} below is replaced by ingest/landing.py with those five columns.

create schema if not exists raw_meta;
create schema if not exists raw_ehr;
create schema if not exists raw_billing;
create schema if not exists raw_erp;
create schema if not exists raw_bank;

create table if not exists raw_meta.batches (
    batch_id varchar primary key,
    source_system varchar not null,        -- ehr | billing | erp
    format varchar not null,               -- fhir | hl7 | x12-835 | claims | denials | payers | erp:<kind>
    source_file varchar not null,          -- absolute path as given
    file_name varchar not null,
    sha256 varchar not null,
    size_bytes bigint not null,
    rows_read bigint not null,
    rows_accepted bigint not null,
    rows_quarantined bigint not null,
    status varchar not null,               -- landed | skipped | failed
    message varchar,
    started_at timestamp not null,
    finished_at timestamp
);

create table if not exists raw_meta.quarantine (
    batch_id varchar not null,
    source_file varchar not null,
    record_index bigint not null,
    reason_code varchar not null,
    message varchar not null,
    raw_text varchar,
    quarantined_at timestamp not null
);

create table if not exists raw_meta.validation_findings (
    batch_id varchar not null,
    source_file varchar not null,
    record_index bigint not null,
    severity varchar not null,             -- info | warning | error
    rule varchar not null,
    location varchar,
    message varchar not null
);

-- One row per FHIR Bulk Data export `careledger fetch fhir` kicked off (careledger/ingest/fhir/bulk.py):
-- its status URL while it runs (a rerun resumes it), and once landed the server's
-- transactionTime, the next run's _since for the same base, group and types.
create table if not exists raw_meta.fhir_bulk_exports (
    export_id varchar primary key,
    base_url varchar not null,
    group_id varchar,                      -- null: system-level $export
    resource_types varchar,                -- _type as asked (comma-separated), null: all
    since varchar,                         -- _since as asked, null: everything
    status_url varchar not null,           -- Content-Location of the kick-off
    state varchar not null,                -- polling | landed | failed | expired
    kicked_off_at timestamp not null,
    transaction_time varchar,              -- manifest transactionTime, exactly as the server sent it
    output_files integer,
    error_files integer,
    records_read bigint,
    records_accepted bigint,
    records_quarantined bigint,
    findings bigint,                       -- validation findings of the landed files (OperationOutcomes included)
    deleted_at timestamp,                  -- when the status URL was DELETEd
    finished_at timestamp,
    message varchar
);

-- ---------------------------------------------------------------- EHR: FHIR
-- One table per resource type; the resource itself is kept as JSON, keys lifted out.
create table if not exists raw_ehr.fhir_resources (
    resource_type varchar not null,
    resource_id varchar not null,
    version_id varchar,
    last_updated timestamp,
    resource json not null,
    {lineage}
);

-- ---------------------------------------------------------------- EHR: HL7 v2 ADT
create table if not exists raw_ehr.adt_messages (
    message_control_id varchar,
    message_type varchar,
    trigger_event varchar,
    message_at timestamp,
    event_at timestamp,
    sending_application varchar,
    sending_facility varchar,
    hl7_version varchar,
    patient_mrn varchar,
    patient_family_name varchar,
    patient_given_name varchar,
    birth_date date,
    sex varchar,
    address_line varchar,
    city varchar,
    state varchar,
    zip varchar,
    phone varchar,
    ssn varchar,
    visit_number varchar,
    patient_class varchar,
    point_of_care varchar,
    room varchar,
    bed varchar,
    location_facility varchar,
    attending_npi varchar,
    hospital_service varchar,
    admit_source varchar,
    discharge_disposition varchar,
    admit_at timestamp,
    discharge_at timestamp,
    admit_reason varchar,
    prior_mrn varchar,
    prior_visit_number varchar,
    raw_message varchar,
    {lineage}
);

create table if not exists raw_ehr.adt_diagnoses (
    message_control_id varchar,
    visit_number varchar,
    set_id integer,
    diagnosis_code varchar,
    coding_system varchar,
    description varchar,
    diagnosis_type varchar,
    {lineage}
);

create table if not exists raw_ehr.adt_procedures (
    message_control_id varchar,
    visit_number varchar,
    set_id integer,
    procedure_code varchar,
    coding_system varchar,
    procedure_at timestamp,
    surgeon_npi varchar,
    {lineage}
);

create table if not exists raw_ehr.adt_insurance (
    message_control_id varchar,
    visit_number varchar,
    set_id integer,
    plan_id varchar,
    company_id varchar,
    company_name varchar,
    group_number varchar,
    member_id varchar,
    {lineage}
);

-- ---------------------------------------------------------------- EHR: HL7 v2 DFT (charges)
-- careledger/ingest/hl7/dft.py: one row per message, per FT1 charge, per PR1, per DG1.
create table if not exists raw_ehr.dft_messages (
    message_control_id varchar,
    trigger_event varchar,
    message_at timestamp,
    event_at timestamp,
    sending_application varchar,
    sending_facility varchar,
    hl7_version varchar,
    patient_mrn varchar,
    account_number varchar,
    visit_number varchar,
    patient_class varchar,
    attending_npi varchar,
    charge_count integer,
    raw_message varchar,
    {lineage}
);

create table if not exists raw_ehr.dft_charges (
    message_control_id varchar,
    visit_number varchar,
    set_id integer,
    transaction_id varchar,
    transaction_batch_id varchar,
    transaction_date date,
    posting_date date,
    transaction_type varchar,              -- CG charge | CD credit | PY payment | AJ adjustment
    transaction_code varchar,
    transaction_description varchar,
    quantity decimal(18, 3),
    extended_amount decimal(18, 2),
    unit_amount decimal(18, 2),
    department_code varchar,
    procedure_code varchar,
    procedure_coding_system varchar,
    modifiers varchar,
    diagnosis_code varchar,
    performed_by_npi varchar,
    ordered_by_npi varchar,
    {lineage}
);

create table if not exists raw_ehr.dft_procedures (
    message_control_id varchar,
    visit_number varchar,
    charge_set_id integer,                 -- FT1-1 of the charge the PR1 follows
    set_id integer,
    procedure_code varchar,
    coding_system varchar,
    procedure_at timestamp,
    surgeon_npi varchar,
    {lineage}
);

create table if not exists raw_ehr.dft_diagnoses (
    message_control_id varchar,
    visit_number varchar,
    set_id integer,
    diagnosis_code varchar,
    coding_system varchar,
    description varchar,
    diagnosis_type varchar,
    {lineage}
);

-- ---------------------------------------------------------------- EHR: HL7 v2 BAR (accounts)
-- careledger/ingest/hl7/bar.py: one row per visit group (PV1) of each message, its DG1 and PR1.
create table if not exists raw_ehr.bar_accounts (
    message_control_id varchar,
    trigger_event varchar,                 -- P01 add | P05 update | P06 end | P12 update codes
    message_at timestamp,
    event_at timestamp,
    sending_facility varchar,
    patient_mrn varchar,
    account_number varchar,
    visit_set integer,
    visit_number varchar,
    patient_class varchar,
    hospital_service varchar,
    attending_npi varchar,
    financial_class varchar,
    account_status varchar,
    admit_at timestamp,
    discharge_at timestamp,
    raw_message varchar,
    {lineage}
);

create table if not exists raw_ehr.bar_diagnoses (
    message_control_id varchar,
    account_number varchar,
    visit_number varchar,
    set_id integer,
    diagnosis_code varchar,
    coding_system varchar,
    description varchar,
    diagnosis_type varchar,
    action_code varchar,                   -- DG1-21: A add | D delete | U update
    {lineage}
);

create table if not exists raw_ehr.bar_procedures (
    message_control_id varchar,
    account_number varchar,
    visit_number varchar,
    set_id integer,
    procedure_code varchar,
    coding_system varchar,
    procedure_at timestamp,
    surgeon_npi varchar,
    {lineage}
);

-- ---------------------------------------------------------------- billing: CSV exports
-- patient payments and patient-side adjustments (copay, payment, bad_debt, charity) from the
-- billing platform; amount is a positive reduction of the patient balance
create table if not exists raw_billing.patient_transactions (
    transaction_id varchar,
    claim_id varchar,
    transaction_type varchar,
    transaction_date date,
    amount decimal(18, 2),
    payment_method varchar,
    deposit_reference varchar,
    {lineage}
);

create table if not exists raw_billing.payers (
    payer_code varchar,
    payer_name varchar,
    payer_class varchar,
    x12_payer_id varchar,
    inpatient_base_rate decimal(18, 2),
    outpatient_method varchar,
    outpatient_rate decimal(18, 4),
    {lineage}
);

create table if not exists raw_billing.claim_lines (
    claim_id varchar,
    claim_frequency_code varchar,
    original_claim_id varchar,
    patient_control_number varchar,
    encounter_id varchar,
    patient_mrn varchar,
    member_id varchar,
    payer_code varchar,
    billing_npi varchar,
    rendering_npi varchar,
    facility_code varchar,
    department_code varchar,
    claim_type varchar,
    bill_type varchar,
    drg_code varchar,
    admit_date date,
    discharge_date date,
    statement_from_date date,
    statement_to_date date,
    submitted_date date,
    line_number integer,
    service_date date,
    procedure_code varchar,
    modifiers varchar,
    revenue_code varchar,
    units decimal(18, 3),
    charge_amount decimal(18, 2),
    place_of_service varchar,
    principal_diagnosis_code varchar,
    {lineage}
);

create table if not exists raw_billing.denial_events (
    event_id varchar,
    claim_id varchar,
    payer_code varchar,
    event_type varchar,
    event_date date,
    group_code varchar,
    carc_code varchar,
    amount decimal(18, 2),
    work_queue varchar,
    note varchar,
    {lineage}
);

-- ---------------------------------------------------------------- billing: X12 835
-- Keys: (_batch_id, interchange_control_number, transaction_set_control_number) is one
-- ST..SE; claim_seq numbers CLPs within it; line_seq numbers SVCs within a claim.
create table if not exists raw_billing.remit_payments (
    interchange_control_number varchar,
    group_control_number varchar,
    transaction_set_control_number varchar,
    interchange_sender_id varchar,
    interchange_receiver_id varchar,
    transaction_handling_code varchar,
    payment_amount decimal(18, 2),
    credit_debit_flag varchar,
    payment_method varchar,
    payment_date date,
    trace_number varchar,
    originating_company_id varchar,
    production_date date,
    payer_id varchar,
    payer_name varchar,
    payee_name varchar,
    payee_npi varchar,
    payee_id_qualifier varchar,
    payee_id varchar,
    payee_tax_id varchar,
    claim_count integer,
    {lineage}
);
-- payee ids added after the first release: a warehouse created before gains them here
alter table raw_billing.remit_payments add column if not exists payee_id_qualifier varchar;
alter table raw_billing.remit_payments add column if not exists payee_id varchar;
alter table raw_billing.remit_payments add column if not exists payee_tax_id varchar;

create table if not exists raw_billing.remit_claims (
    interchange_control_number varchar,
    transaction_set_control_number varchar,
    trace_number varchar,
    claim_seq integer,
    patient_control_number varchar,
    claim_status_code varchar,
    total_charge_amount decimal(18, 2),
    payment_amount decimal(18, 2),
    patient_responsibility_amount decimal(18, 2),
    claim_filing_indicator varchar,
    payer_claim_control_number varchar,
    facility_type_code varchar,
    claim_frequency_code varchar,
    drg_code varchar,
    patient_family_name varchar,
    patient_given_name varchar,
    member_id varchar,
    rendering_npi varchar,
    statement_from_date date,
    statement_to_date date,
    received_date date,
    coverage_amount decimal(18, 2),
    {lineage}
);

create table if not exists raw_billing.remit_service_lines (
    interchange_control_number varchar,
    transaction_set_control_number varchar,
    trace_number varchar,
    claim_seq integer,
    line_seq integer,
    procedure_qualifier varchar,
    procedure_code varchar,
    modifiers varchar,
    charge_amount decimal(18, 2),
    payment_amount decimal(18, 2),
    revenue_code varchar,
    units decimal(18, 3),
    service_date date,
    line_item_control_number varchar,
    allowed_amount decimal(18, 2),
    {lineage}
);

create table if not exists raw_billing.remit_adjustments (
    interchange_control_number varchar,
    transaction_set_control_number varchar,
    trace_number varchar,
    claim_seq integer,
    line_seq integer,                       -- null for claim-level CAS
    adjustment_level varchar,               -- claim | line
    triplet_seq integer,                    -- 1..6 within the CAS segment
    group_code varchar,
    carc_code varchar,
    amount decimal(18, 2),
    quantity decimal(18, 3),
    {lineage}
);

create table if not exists raw_billing.remit_remarks (
    interchange_control_number varchar,
    transaction_set_control_number varchar,
    trace_number varchar,
    claim_seq integer,
    line_seq integer,
    source_segment varchar,                 -- LQ | MOA | MIA
    remark_code varchar,
    {lineage}
);

create table if not exists raw_billing.remit_provider_adjustments (
    interchange_control_number varchar,
    transaction_set_control_number varchar,
    trace_number varchar,
    provider_id varchar,
    fiscal_period_date date,
    reason_code varchar,
    reference_id varchar,
    amount decimal(18, 2),
    {lineage}
);

-- ---------------------------------------------------------------- ERP exports
create table if not exists raw_erp.legal_entities (
    legal_entity_id varchar, legal_entity_name varchar, tax_id varchar,
    currency_code varchar, ledger_name varchar,
    {lineage}
);

create table if not exists raw_erp.facilities (
    facility_id varchar, facility_name varchar, facility_type varchar, legal_entity_id varchar,
    address_line varchar, city varchar, state varchar, zip varchar, bed_count integer,
    {lineage}
);

create table if not exists raw_erp.cost_centers (
    cost_center_id varchar, cost_center_name varchar, parent_cost_center_id varchar,
    facility_id varchar, cost_center_type varchar, service_line_code varchar, is_active boolean,
    {lineage}
);

create table if not exists raw_erp.chart_of_accounts (
    account_id varchar, account_name varchar, account_type varchar,
    natural_balance varchar, is_posting boolean,
    {lineage}
);

create table if not exists raw_erp.suppliers (
    supplier_id varchar, supplier_name varchar, supplier_category varchar,
    {lineage}
);

create table if not exists raw_erp.accounting_periods (
    period_id varchar, period_start_date date, period_end_date date,
    fiscal_year integer, fiscal_period integer, status varchar,
    {lineage}
);

create table if not exists raw_erp.gl_actuals (
    journal_id varchar, line_number integer, legal_entity_id varchar, facility_id varchar,
    cost_center_id varchar, account_id varchar, posting_date date, period_id varchar,
    debit_amount decimal(18, 2), credit_amount decimal(18, 2), source varchar,
    supplier_id varchar, description varchar,
    {lineage}
);

create table if not exists raw_erp.payroll (
    pay_period_end_date date, employee_id varchar, npi varchar, cost_center_id varchar,
    job_code varchar, hours decimal(18, 2), cost_amount decimal(18, 2),
    {lineage}
);

create table if not exists raw_erp.supply_spend (
    invoice_id varchar, invoice_date date, supplier_id varchar, cost_center_id varchar,
    item_category varchar, amount decimal(18, 2),
    {lineage}
);

create table if not exists raw_erp.crosswalks (
    entity varchar, source_system varchar, source_code varchar, target_code varchar,
    {lineage}
);

-- BAI2 prior-day bank files (ingest/bai2/loader.py): one row per 16 transaction detail
create table if not exists raw_bank.bai2_transactions (
    file_id varchar,
    sender_id varchar,
    receiver_id varchar,
    file_creation_date date,
    as_of_date date,
    account_number varchar,
    currency_code varchar,
    type_code varchar,
    is_credit boolean,
    amount decimal(18, 2),
    funds_type varchar,
    bank_reference varchar,
    customer_reference varchar,
    detail_text varchar,
    {lineage}
);
