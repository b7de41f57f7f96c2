-- Odoo 19 product.product (variants) joined to product.template -> product. Every
-- variant is a product; code is the variant's default_code. kind: type `service` ->
-- service, `consu` -> goods when tracked in stock (is_storable) else consumable,
-- `combo` -> NULL. cost_price is product.product.standard_price, a company-dependent
-- field: the database keeps one value per company (JSON of numbers keyed by company
-- id, e.g. {"1": 8.0}; the demo has one company's), the API returns the value of the
-- context's first company. ferry_text only reads JSON text, so the first number is
-- taken with a regular expression on a dump, the API's number as is.
-- currency is NULL: prices are in the currency of the company, which a template
-- shared by every company does not name.
SELECT
    '${source_system}:' || CAST(pp.id AS VARCHAR) AS id,
    '${source_system}' AS source_system,
    CAST(pp.id AS VARCHAR) AS source_id,
    pp.default_code AS code,
    COALESCE(ferry_text(pt.name, 'en_US'), '') AS name,
    CASE
        WHEN pt.type = 'service' THEN 'service'
        WHEN pt.type = 'consu' AND COALESCE(pt.is_storable, false) THEN 'goods'
        WHEN pt.type = 'consu' THEN 'consumable'
    END AS kind,
    '${source_system}:' || CAST(pt.categ_id AS VARCHAR) AS category_id,
    '${source_system}:' || CAST(pt.uom_id AS VARCHAR) AS uom_id,
    CAST(COALESCE(pt.list_price, 0) AS DECIMAL(28, 8)) AS list_price,
    CASE
        WHEN CAST(pp.standard_price AS VARCHAR) ~ '^-?[0-9]+(\.[0-9]+)?$'
            THEN CAST(CAST(pp.standard_price AS VARCHAR) AS DECIMAL(28, 8))
        WHEN CAST(pp.standard_price AS VARCHAR) ~ '^\{"[^"]*": *-?[0-9]+(\.[0-9]+)?[,}]'
            THEN CAST(regexp_replace(CAST(pp.standard_price AS VARCHAR),
                                     '^\{"[^"]*": *(-?[0-9]+(\.[0-9]+)?)[,}].*$', '${1}') AS DECIMAL(28, 8))
    END AS cost_price,
    CAST(NULL AS VARCHAR) AS currency,
    COALESCE(pt.sale_ok, false) AS salable,
    COALESCE(pt.purchase_ok, false) AS purchasable,
    COALESCE(pp.active, false) AND COALESCE(pt.active, false) AS active
FROM product_product pp
JOIN product_template pt ON pt.id = pp.product_tmpl_id
