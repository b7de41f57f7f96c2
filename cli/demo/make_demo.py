#!/usr/bin/env python3
"""Regenerates the demo exports bundled with `ferry demo` (deterministic).

The files imitate what a small manufacturer gets out of a SaaS ERP's export screens:
a Windows-1252, semicolon-separated customer list with decimal commas; a UTF-8 supplier
list; a product workbook; sale orders as JSON lines; order lines and invoices as CSV.
Totals are consistent: each order total is the sum of its lines plus VAT.

    python3 cli/demo/make_demo.py cli/demo/data
"""
import csv
import json
import random
import sys
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import openpyxl

rng = random.Random(20250101)
out = Path(sys.argv[1] if len(sys.argv) > 1 else "data")
out.mkdir(parents=True, exist_ok=True)
CENT = Decimal("0.01")

first = ["Hélène", "François", "Zoë", "Jürgen", "Begoña", "Søren", "Anaïs", "José", "Maëlle", "Øystein", "Chloé", "Günther"]
companies = [
    ("Société Générale d'Usinage", "Lyon", "FR"), ("Ateliers Mécaniques du Rhône", "Vénissieux", "FR"),
    ("Müller & Söhne GmbH", "München", "DE"), ("Fundición Peñalara S.L.", "Segovia", "ES"),
    ("Brasserie Côte d'Émeraude", "Saint-Malo", "FR"), ("Électricité Générale Dupré", "Besançon", "FR"),
    ("Chaudronnerie de l'Aisne", "Saint-Quentin", "FR"), ("Kühlsysteme Köln AG", "Köln", "DE"),
    ("Menuiserie Lefèvre & Fils", "Angoulême", "FR"), ("Plásticos Logroño S.A.", "Logroño", "ES"),
    ("Tôlerie Fine Champenoise", "Reims", "FR"), ("Hydraulique Ségurane", "Nice", "FR"),
    ("Verrerie d'Arques-Béthune", "Béthune", "FR"), ("Präzisionsteile Würzburg", "Würzburg", "DE"),
    ("Câblerie du Hainaut", "Maubeuge", "FR"), ("Mecanizados Castellón", "Castellón", "ES"),
    ("Forges de Saône", "Chalon-sur-Saône", "FR"), ("Outillage Névé", "Annecy", "FR"),
    ("Laboratoire Cœur de Loire", "Orléans", "FR"), ("Emballages Écolo'Pack", "Nantes", "FR"),
    ("Sägewerk Großbach", "Freiburg", "DE"), ("Pinturas Ibérica", "Zaragoza", "ES"),
    ("Robinetterie Bréhat", "Brest", "FR"), ("Galvanoplastie Île-de-France", "Créteil", "FR"),
]
customers = []
for i, (name, city, country) in enumerate(companies, start=1):
    vat = "" if i % 7 == 0 else f"{country}{rng.randint(10**9, 10**10 - 1)}"
    contact = f"{rng.choice(first)}"
    email = "" if i % 9 == 0 else f"{contact.lower().replace('ë','e').replace('ü','u').replace('ø','o').replace('é','e').replace('ç','c').replace('ñ','n').replace('ï','i').replace('è','e')}@client{i:02d}.example"
    limit = "" if i % 5 == 0 else f"{rng.randint(5, 80) * 1000},{rng.choice(['00', '50'])}"
    created = datetime(2023, 1, 1) + timedelta(days=rng.randint(0, 700), seconds=rng.randint(0, 86399))
    customers.append([i, name, contact, city, country, vat, email, limit, created.strftime("%Y-%m-%d %H:%M:%S")])
with open(out / "customers.csv", "w", encoding="cp1252", newline="") as f:
    w = csv.writer(f, delimiter=";", lineterminator="\r\n")
    w.writerow(["id", "name", "contact", "city", "country", "vat", "email", "credit_limit", "created_at"])
    w.writerows(customers)

suppliers = [
    ("Aciéries du Nord", "Dunkerque", "FR", "30 jours fin de mois"), ("Schrauben Weiß KG", "Stuttgart", "DE", "Netto 30"),
    ("Aluminios Cádiz", "Cádiz", "ES", "60 días"), ("Roulements Précis", "Annecy", "FR", "Comptant"),
    ("Kunststoff Jäger", "Hannover", "DE", "Netto 14"), ("Peintures Ménard", "Rouen", "FR", "45 jours"),
    ("Électro-Composants Sàrl", "Genève", "CH", "30 jours"), ("Transports Lagarde", "Bordeaux", "FR", "Comptant"),
]
with open(out / "suppliers.csv", "w", encoding="utf-8", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["id", "name", "city", "country", "payment_terms", "rating"])
    for i, (n, c, k, t) in enumerate(suppliers, start=1):
        w.writerow([100 + i, n, c, k, t, "" if i == 4 else rng.choice(["A", "B", "C"])])

cats = {"Visserie": ("u", 0.05, 2), "Tôles": ("kg", 1.2, 9), "Profilés": ("m", 3, 40), "Hydraulique": ("u", 15, 400),
        "Électrique": ("u", 2, 120), "Peinture": ("l", 6, 60), "Service": ("h", 45, 95)}
products = []
n = 1
for cat, (uom, lo, hi) in cats.items():
    for j in range(8):
        price = (Decimal(str(rng.uniform(lo, hi))).quantize(CENT))
        cost = (price * Decimal(str(rng.uniform(0.45, 0.8)))).quantize(CENT)
        label = {"Visserie": ["Vis CHC M6×20", "Écrou frein M8", "Rondelle Ø10", "Goujon M12", "Vis TH M10×40", "Rivet aveugle 4,8", "Cheville Ø8", "Boulon HR M16"],
                 "Tôles": ["Tôle acier 2 mm", "Tôle inox 304 1,5 mm", "Tôle alu 3 mm", "Tôle galva 1 mm", "Tôle larmée 4 mm", "Tôle perforée", "Feuillard 0,8 mm", "Tôle Corten 2 mm"],
                 "Profilés": ["Cornière 40×40", "Tube carré 30×30", "IPN 120", "UPN 80", "Fer plat 50×5", "Rond plein Ø20", "Tube rond Ø42", "Profilé alu 40×40"],
                 "Hydraulique": ["Vérin double effet", "Pompe à engrenages", "Distributeur 4/3", "Flexible 1/2\" 1 m", "Raccord JIC", "Manomètre 0-250 bar", "Filtre retour", "Accumulateur 1 l"],
                 "Électrique": ["Câble H07RN-F 3G2,5", "Contacteur 25 A", "Disjoncteur C16", "Bornier 10 mm²", "Capteur inductif M18", "Relais 24 V", "Presse-étoupe M20", "Variateur 2,2 kW"],
                 "Peinture": ["Primaire époxy", "Laque RAL 5010", "Diluant cellulosique", "Vernis polyuréthane", "Antirouille zinc", "Laque RAL 7035", "Durcisseur", "Apprêt garnissant"],
                 "Service": ["Main-d'œuvre atelier", "Soudure TIG", "Découpe laser", "Pliage CN", "Montage sur site", "Contrôle qualité", "Étude technique", "Déplacement"]}[cat][j]
        weight = "" if uom in ("h",) else str(Decimal(str(rng.uniform(0.01, 25))).quantize(Decimal("0.001")))
        products.append([f"{n:05d}", label, cat, uom, price, cost, weight, j != 7 or cat != "Peinture"])
        n += 1
wb = openpyxl.Workbook()
ws = wb.active
ws.title = "Articles"
ws.append(["code", "name", "category", "uom", "list_price", "standard_cost", "weight_kg", "active"])
for p in products:
    ws.append([p[0], p[1], p[2], p[3], float(p[4]), float(p[5]), float(p[6]) if p[6] else None, p[7]])
wb.save(out / "products.xlsx")

orders, lines, invoices = [], [], []
line_id = 1
start = datetime(2025, 1, 2, 8, 0, tzinfo=timezone.utc)
for oid in range(1, 241):
    cust = rng.choice(customers)
    when = start + timedelta(days=int(oid * 1.5), minutes=rng.randint(0, 600))
    state = rng.choices(["draft", "sent", "sale", "done", "cancel"], [1, 2, 6, 8, 1])[0]
    untaxed = Decimal(0)
    for _ in range(rng.randint(1, 7)):
        p = rng.choice(products)
        qty = Decimal(rng.choice(["1", "2", "5", "10", "12.5", "0.75", "250", "3"])) if p[3] != "u" else Decimal(rng.randint(1, 200))
        disc = rng.choice([Decimal(0), Decimal(0), Decimal(5), Decimal("12.5")])
        sub = (qty * p[4] * (100 - disc) / 100).quantize(CENT, ROUND_HALF_UP)
        untaxed += sub
        lines.append([line_id, oid, p[0], p[1], f"{qty:.3f}", f"{p[4]:.2f}", f"{disc:.2f}", f"{sub:.2f}"])
        line_id += 1
    tax = (untaxed * Decimal("0.20")).quantize(CENT, ROUND_HALF_UP)
    currency = "EUR" if cust[4] != "CH" else "CHF"
    orders.append({"id": oid, "name": f"SO2025-{oid:05d}", "customer_id": cust[0], "date_order": when.isoformat(),
                   "state": state, "currency": currency, "amount_untaxed": str(untaxed), "amount_tax": str(tax),
                   "amount_total": str(untaxed + tax), "note": None if oid % 4 else "Livraison à quai n°2 — appeler avant"})
    if state in ("sale", "done"):
        inv_date = (when + timedelta(days=rng.randint(1, 12))).date()
        due = inv_date + timedelta(days=30)
        paid = state == "done" and rng.random() < 0.8
        total = untaxed + tax
        paid_at = datetime.combine(due - timedelta(days=rng.randint(0, 25)), datetime.min.time(), timezone.utc) + timedelta(hours=rng.randint(8, 18))
        invoices.append([f"FA2025-{len(invoices) + 1:05d}", oid, cust[0], inv_date.isoformat(), due.isoformat(),
                         f"{total:.2f}", "0.00" if paid else f"{total:.2f}", "paid" if paid else "posted",
                         paid_at.strftime("%Y-%m-%dT%H:%M:%SZ") if paid else ""])

with open(out / "sale_orders.jsonl", "w", encoding="utf-8") as f:
    for o in orders:
        rec = dict(o)
        for k in ("amount_untaxed", "amount_tax", "amount_total"):
            rec[k] = json.loads(rec[k])  # plain JSON numbers, as APIs send them
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
with open(out / "sale_order_lines.csv", "w", encoding="utf-8", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["id", "order_id", "product_code", "description", "quantity", "unit_price", "discount_pct", "subtotal"])
    w.writerows(lines)
with open(out / "invoices.csv", "w", encoding="utf-8", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["number", "order_id", "customer_id", "invoice_date", "due_date", "amount_total", "amount_residual", "state", "paid_at"])
    w.writerows(invoices)
print(f"{len(customers)} customers, {len(products)} products, {len(orders)} orders, {len(lines)} lines, {len(invoices)} invoices")
