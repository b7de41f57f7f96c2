-- ERPNext Stock Ledger Entry → stock_move. An entry is one warehouse and a signed
-- `actual_qty`: positive comes into the warehouse (from_location_id NULL), negative
-- leaves it (to_location_id NULL); quantity is the absolute value, in the stock UOM. A
-- transfer is two entries of one voucher. Entries exist only for submitted documents:
-- state done, or cancelled when `is_cancelled` = 1 (the document was cancelled). The
-- reference is `<voucher_type> <voucher_no>`; the date `posting_date`; unit_price the
-- `valuation_rate` (company currency, not named: currency NULL).
SELECT
  '${source_system}:' || e.name AS id,
  '${source_system}' AS source_system,
  e.name AS source_id,
  CAST(e.voucher_type AS VARCHAR) || ' ' || CAST(e.voucher_no AS VARCHAR) AS reference,
  '${source_system}:' || CAST(e.item_code AS VARCHAR) AS product_id,
  abs(CAST(CAST(e.actual_qty AS VARCHAR) AS DECIMAL(28, 8))) AS quantity,
  CASE WHEN NULLIF(CAST(e.stock_uom AS VARCHAR), '') IS NOT NULL
       THEN '${source_system}:' || CAST(e.stock_uom AS VARCHAR) END AS uom_id,
  CASE WHEN CAST(CAST(e.actual_qty AS VARCHAR) AS DECIMAL(28, 8)) < 0
       THEN '${source_system}:' || CAST(e.warehouse AS VARCHAR) END AS from_location_id,
  CASE WHEN CAST(CAST(e.actual_qty AS VARCHAR) AS DECIMAL(28, 8)) >= 0
       THEN '${source_system}:' || CAST(e.warehouse AS VARCHAR) END AS to_location_id,
  CASE WHEN CAST(e.is_cancelled AS VARCHAR) = '1' THEN 'cancelled' ELSE 'done' END AS state,
  CAST(NULL AS DATE) AS planned_date,
  CAST(NULLIF(CAST(e.posting_date AS VARCHAR), '') AS DATE) AS effective_date,
  CAST(CAST(e.valuation_rate AS VARCHAR) AS DECIMAL(28, 8)) AS unit_price,
  CAST(NULL AS VARCHAR) AS currency
FROM stock_ledger_entry e
