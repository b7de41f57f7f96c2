-- ERPNext accounts → account, as named by the GL entries and by the invoice items: the
-- Account DocType is not extracted, so each account name met (`Debtors - SGE`) is one
-- account (source_id = its name). Its role is inferred from how it is used: an account
-- GL entries post with party type Customer → receivable, Supplier → payable; an item's
-- income account → revenue, expense account → expense; otherwise unknown (NULL). No code
-- (account_number is on Account) and no parent.
WITH used AS (
  SELECT CAST(account AS VARCHAR) AS name,
         CASE CAST(party_type AS VARCHAR) WHEN 'Customer' THEN 'receivable' WHEN 'Supplier' THEN 'payable' END AS kind
  FROM gl_entry
  UNION ALL SELECT CAST(income_account AS VARCHAR), 'revenue' FROM sales_invoice_item
  UNION ALL SELECT CAST(expense_account AS VARCHAR), 'expense' FROM purchase_invoice_item
)
SELECT
  '${source_system}:' || name AS id,
  '${source_system}' AS source_system,
  name AS source_id,
  CAST(NULL AS VARCHAR) AS code,
  name,
  max(kind) AS kind,
  CAST(NULL AS VARCHAR) AS parent_id,
  true AS active
FROM used
WHERE NULLIF(name, '') IS NOT NULL
GROUP BY name
