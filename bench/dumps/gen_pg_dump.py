#!/usr/bin/env python3
"""Writes a plain pg_dump-style file of an ERP-like schema (partners, products,
orders, order lines) to DUMP, plus the order lines as CSV (/dev/null to skip it).

    python3 gen_pg_dump.py LINES dump.sql lines.csv

The text is what pg_dump writes: CREATE TABLE, COPY ... FROM stdin blocks with
text-format escaping, and ALTER TABLE ... ADD CONSTRAINT ... PRIMARY KEY.
"""
import random
import sys

lines = int(sys.argv[1])
dump_path, csv_path = sys.argv[2], sys.argv[3]
rnd = random.Random(42)
orders = max(1, lines // 5)
partners = max(1, orders // 20)
products = 5000

with open(dump_path, "w", encoding="utf-8") as d, open(csv_path, "w", encoding="utf-8") as c:
    w = d.write
    w("--\n-- PostgreSQL database dump\n--\n\nSET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n\n")
    w("CREATE TABLE public.res_partner (\n    id integer NOT NULL,\n    name character varying NOT NULL,\n    email character varying,\n    create_date timestamp without time zone\n);\n\n")
    w("CREATE TABLE public.product_product (\n    id integer NOT NULL,\n    default_code character varying,\n    name jsonb NOT NULL,\n    list_price numeric(16,4)\n);\n\n")
    w("CREATE TABLE public.sale_order (\n    id integer NOT NULL,\n    name character varying NOT NULL,\n    partner_id integer NOT NULL,\n    date_order timestamp with time zone NOT NULL,\n    amount_total numeric(16,2),\n    note text\n);\n\n")
    w("CREATE TABLE public.sale_order_line (\n    id bigint NOT NULL,\n    order_id integer NOT NULL,\n    product_id integer,\n    name text NOT NULL,\n    product_uom_qty numeric(16,3) NOT NULL,\n    price_unit numeric(16,4) NOT NULL,\n    discount numeric(5,2),\n    create_date timestamp without time zone\n);\n\n")
    w("COPY public.res_partner (id, name, email, create_date) FROM stdin;\n")
    for i in range(1, partners + 1):
        w(f"{i}\tPartner {i} \\\\ Ltd\tp{i}@example.com\t2024-0{1 + i % 9}-1{i % 10} 10:{i % 60:02d}:00\n")
    w("\\.\n\n")
    w("COPY public.product_product (id, default_code, name, list_price) FROM stdin;\n")
    for i in range(1, products + 1):
        w(f"{i}\tP{i:06d}\t{{\"en_US\": \"Product {i}\", \"fr_FR\": \"Produit {i} é\"}}\t{rnd.randint(1, 99999)}.{rnd.randint(0, 9999):04d}\n")
    w("\\.\n\n")
    w("COPY public.sale_order (id, name, partner_id, date_order, amount_total, note) FROM stdin;\n")
    for i in range(1, orders + 1):
        note = "\\N" if i % 3 else "Deliver\\tby truck\\nCall first"
        w(f"{i}\tS{i:08d}\t{1 + i % partners}\t2024-05-{1 + i % 28:02d} 0{i % 10}:00:00+00\t{rnd.randint(0, 10**7)}.{rnd.randint(0, 99):02d}\t{note}\n")
    w("\\.\n\n")
    w("COPY public.sale_order_line (id, order_id, product_id, name, product_uom_qty, price_unit, discount, create_date) FROM stdin;\n")
    c.write("id,order_id,product_id,name,product_uom_qty,price_unit,discount,create_date\n")
    for i in range(1, lines + 1):
        o = 1 + (i - 1) // 5
        p = 1 + rnd.randrange(products)
        q = f"{rnd.randint(1, 500)}.{rnd.randint(0, 999):03d}"
        pu = f"{rnd.randint(0, 9999)}.{rnd.randint(0, 9999):04d}"
        disc = "\\N" if i % 4 else f"{rnd.randint(0, 50)}.00"
        ts = f"2024-05-{1 + o % 28:02d} 1{i % 10}:{i % 60:02d}:{(i * 7) % 60:02d}"
        name = f"[P{p:06d}] Product {p} - line {i}"
        w(f"{i}\t{o}\t{p}\t{name}\t{q}\t{pu}\t{disc}\t{ts}\n")
        c.write(f"{i},{o},{p},\"{name}\",{q},{pu},{'' if disc == chr(92) + 'N' else disc},{ts}\n")
    w("\\.\n\n")
    for t in ["res_partner", "product_product", "sale_order", "sale_order_line"]:
        w(f"ALTER TABLE ONLY public.{t}\n    ADD CONSTRAINT {t}_pkey PRIMARY KEY (id);\n\n")
    w("--\n-- PostgreSQL database dump complete\n--\n\n")
