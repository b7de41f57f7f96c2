-- source-stream: product.product
-- Tryton product.product (variant) ⨝ product.template → product. The category is the
-- template's first category; prices are those the company sees (the variant's
-- effective list price, its cost price), in the company's currency.
SELECT
  '${source_system}:' || CAST(p.id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(p.id AS VARCHAR) AS source_id,
  p.code,
  t.name,
  CASE WHEN t.type = 'service' THEN 'service' WHEN t.consumable THEN 'consumable' ELSE 'goods' END AS kind,
  '${source_system}:' || CAST(array_element(t.categories, 1) AS VARCHAR) AS category_id,
  '${source_system}:' || CAST(t.default_uom AS VARCHAR) AS uom_id,
  COALESCE(p.list_price_used, t.list_price) AS list_price,
  p.cost_price,
  (SELECT min(c.code) FROM company_company co JOIN currency_currency c ON c.id = co.currency) AS currency,
  t.salable,
  t.purchasable,
  p.active
FROM product_product p
JOIN product_template t ON t.id = p.template
