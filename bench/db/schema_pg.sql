-- ERP-like benchmark schema for PostgreSQL: partners, products, orders, order lines.
-- psql -v lines=5000000 -f schema_pg.sql  (partners = lines/50, products = lines/100,
-- orders = lines/10). Deterministic: every value derives from the row number.
\set ON_ERROR_STOP on
SET synchronous_commit = off;
DROP TABLE IF EXISTS sale_order_line, sale_order, product, res_partner;
CREATE TABLE res_partner (
  id integer PRIMARY KEY, name text NOT NULL, email text, vat varchar(32), is_company boolean,
  credit_limit numeric(16,2), create_date timestamptz, write_date timestamptz, props jsonb);
CREATE TABLE product (
  id integer PRIMARY KEY, default_code varchar(32), name jsonb NOT NULL, list_price numeric(16,2),
  standard_price numeric(16,4), weight numeric(12,3), active boolean, write_date timestamptz);
CREATE TABLE sale_order (
  id integer PRIMARY KEY, name varchar(32) NOT NULL, partner_id integer NOT NULL, date_order timestamptz,
  state varchar(16), amount_untaxed numeric(16,2), amount_tax numeric(16,2), amount_total numeric(16,2),
  note text, write_date timestamptz);
CREATE TABLE sale_order_line (
  id bigint PRIMARY KEY, order_id integer NOT NULL, product_id integer NOT NULL, name text,
  product_uom_qty numeric(16,3), price_unit numeric(16,4), discount numeric(5,2),
  price_subtotal numeric(16,2), create_date timestamptz, write_date timestamptz);
INSERT INTO res_partner
SELECT g, 'Partner ' || g || CASE WHEN g % 7 = 0 THEN ' Société Générale' ELSE ' GmbH' END,
       CASE WHEN g % 5 = 0 THEN NULL ELSE 'p' || g || '@example.com' END,
       'FR' || lpad((g * 7919 % 100000000)::text, 11, '0'), g % 3 = 0, (g % 10000) * 12.5,
       timestamptz '2020-01-01 00:00:00+00' + g * interval '37 seconds',
       timestamptz '2024-01-01 00:00:00+00' + g * interval '11 seconds',
       jsonb_build_object('lang', CASE WHEN g % 2 = 0 THEN 'fr_FR' ELSE 'en_US' END, 'tags', jsonb_build_array(g % 10, g % 13))
FROM generate_series(1, greatest(:lines / 50, 1)) g;
INSERT INTO product
SELECT g, 'SKU-' || lpad(g::text, 8, '0'),
       jsonb_build_object('en_US', 'Product ' || g, 'fr_FR', 'Produit ' || g || ' à façon'),
       (g % 5000) + 0.99, (g % 5000) * 0.6133, (g % 997) * 0.125, g % 11 <> 0,
       timestamptz '2024-02-01 00:00:00+00' + g * interval '13 seconds'
FROM generate_series(1, greatest(:lines / 100, 1)) g;
INSERT INTO sale_order
SELECT g, 'SO' || lpad(g::text, 9, '0'), 1 + g % greatest(:lines / 50, 1),
       timestamptz '2023-01-01 08:00:00+00' + g * interval '61 seconds',
       (ARRAY['draft','sent','sale','done','cancel'])[1 + g % 5],
       (g % 100000) * 1.01, (g % 100000) * 0.202, (g % 100000) * 1.212,
       CASE WHEN g % 4 = 0 THEN NULL ELSE 'Deliver before noon; gate ' || (g % 9) END,
       timestamptz '2024-03-01 00:00:00+00' + g * interval '7 seconds'
FROM generate_series(1, greatest(:lines / 10, 1)) g;
INSERT INTO sale_order_line
SELECT g, 1 + (g - 1) / 10, 1 + g % greatest(:lines / 100, 1), 'Line ' || g || ' – item',
       (g % 50) + 0.5, (g % 5000) * 0.9731, (g % 4) * 2.5, ((g % 50) + 0.5) * ((g % 5000) * 0.97),
       timestamptz '2023-01-01 08:00:00+00' + g * interval '6 seconds',
       timestamptz '2024-03-01 00:00:00+00' + g * interval '1 second'
FROM generate_series(1, :lines) g;
ANALYZE;
