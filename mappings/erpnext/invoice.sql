-- ERPNext Sales Invoice and Purchase Invoice → invoice. Names are unique per DocType
-- only, so source_id is `Sales Invoice/<name>` or `Purchase Invoice/<name>`. Kind:
-- a Sales Invoice is a customer_invoice, or a customer_credit_note when `is_return` = 1;
-- a Purchase Invoice a supplier_invoice, or a supplier_credit_note (debit note) when
-- `is_return` = 1. State by docstatus, then status: 0 (Draft) → draft, 2 (Cancelled) →
-- cancelled; submitted (1) with status Paid → paid, any other (Unpaid, Overdue, Partly
-- Paid, Return, Credit Note Issued, …) → posted. Amounts as ERPNext keeps them (a
-- return's are negative): untaxed `net_total`, tax `total_taxes_and_charges`, total
-- `grand_total`, due `outstanding_amount`. The number is the document's name (ERPNext
-- names drafts for good); origin is the invoice a return reverses (`return_against`).
-- `creation` is naive site time, taken as UTC.
SELECT
  '${source_system}:Sales Invoice/' || i.name AS id,
  '${source_system}' AS source_system,
  'Sales Invoice/' || i.name AS source_id,
  i.name AS number,
  CASE WHEN CAST(i.is_return AS VARCHAR) = '1' THEN 'customer_credit_note' ELSE 'customer_invoice' END AS kind,
  '${source_system}:Customer/' || CAST(i.customer AS VARCHAR) AS party_id,
  CAST(NULLIF(CAST(i.posting_date AS VARCHAR), '') AS DATE) AS invoice_date,
  CAST(NULLIF(CAST(i.due_date AS VARCHAR), '') AS DATE) AS due_date,
  CASE
    WHEN CAST(i.docstatus AS VARCHAR) = '0' THEN 'draft'
    WHEN CAST(i.docstatus AS VARCHAR) = '2' THEN 'cancelled'
    WHEN CAST(i.status AS VARCHAR) = 'Paid' THEN 'paid'
    ELSE 'posted'
  END AS state,
  NULLIF(CAST(i.currency AS VARCHAR), '') AS currency,
  CAST(CAST(i.net_total AS VARCHAR) AS DECIMAL(28, 8)) AS untaxed_amount,
  CAST(CAST(i.total_taxes_and_charges AS VARCHAR) AS DECIMAL(28, 8)) AS tax_amount,
  CAST(CAST(i.grand_total AS VARCHAR) AS DECIMAL(28, 8)) AS total_amount,
  CAST(CAST(i.outstanding_amount AS VARCHAR) AS DECIMAL(28, 8)) AS amount_due,
  NULLIF(CAST(i.return_against AS VARCHAR), '') AS origin,
  i.creation AS created_at
FROM sales_invoice i
UNION ALL
SELECT
  '${source_system}:Purchase Invoice/' || i.name,
  '${source_system}',
  'Purchase Invoice/' || i.name,
  i.name,
  CASE WHEN CAST(i.is_return AS VARCHAR) = '1' THEN 'supplier_credit_note' ELSE 'supplier_invoice' END,
  '${source_system}:Supplier/' || CAST(i.supplier AS VARCHAR),
  CAST(NULLIF(CAST(i.posting_date AS VARCHAR), '') AS DATE),
  CAST(NULLIF(CAST(i.due_date AS VARCHAR), '') AS DATE),
  CASE
    WHEN CAST(i.docstatus AS VARCHAR) = '0' THEN 'draft'
    WHEN CAST(i.docstatus AS VARCHAR) = '2' THEN 'cancelled'
    WHEN CAST(i.status AS VARCHAR) = 'Paid' THEN 'paid'
    ELSE 'posted'
  END,
  NULLIF(CAST(i.currency AS VARCHAR), ''),
  CAST(CAST(i.net_total AS VARCHAR) AS DECIMAL(28, 8)),
  CAST(CAST(i.total_taxes_and_charges AS VARCHAR) AS DECIMAL(28, 8)),
  CAST(CAST(i.grand_total AS VARCHAR) AS DECIMAL(28, 8)),
  CAST(CAST(i.outstanding_amount AS VARCHAR) AS DECIMAL(28, 8)),
  NULLIF(CAST(i.return_against AS VARCHAR), ''),
  i.creation
FROM purchase_invoice i
