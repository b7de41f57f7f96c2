"""Seed a Tryton database with a small, deterministic data set for ferry's tests.

Run in-process with the harness virtualenv while no server uses the database:

    python seed.py CONFIG DBNAME [--setup-only]

Creates a company (EUR), customers and suppliers with accented names and
addresses, products with 4-decimal prices, draft sales and purchases with lines,
and, when the account module lets it, draft customer invoices. Prints counts.

With --setup-only it stops after what an administrator configures before any
data arrives (company, currency, the two accounts the invoices use): the empty
target of the migration tests.
"""
import datetime as dt
import os
import sys
from decimal import Decimal

from proteus import Model, config as pconfig

CONF, DB = sys.argv[1], sys.argv[2]
SETUP_ONLY = '--setup-only' in sys.argv[3:]
# FERRY_TRYTON_SEED_SCALE=N makes N times as many parties, products and documents
# (the migration benchmark uses 10); 1 is the tests' data set.
SCALE = int(os.environ.get('FERRY_TRYTON_SEED_SCALE', '1'))
pconfig.set_trytond(DB, config_file=CONF)

Currency = Model.get('currency.currency')
Party = Model.get('party.party')
Company = Model.get('company.company')
User = Model.get('res.user')

if Company.find([]):
    print('already seeded')
    sys.exit(0)

eur = Currency(name='Euro', code='EUR', symbol='€', rounding=Decimal('0.01'), digits=2)
eur.save()
cparty = Party(name='Ferry Test Société')
cparty.save()
company = Company(party=cparty, currency=eur)
company.save()
admin = User(1)
admin.companies.append(company)
admin.company = company
admin.save()
pconfig.get_config()._context = User.get_preferences(True, {})


def chart():
    """The receivable and revenue accounts (codes 411 and 706) and their types."""
    AccountType = Model.get('account.account.type')
    Account = Model.get('account.account')
    root_t = AccountType(name='Bilan', statement='balance')
    root_t.save()
    rec_t = AccountType(name='Clients', statement='balance', parent=root_t, assets=True,
                        receivable=True)
    rec_t.save()
    rev_t = AccountType(name='Produits', statement='income', revenue=True)
    rev_t.save()
    receivable = Account(name='Clients', code='411', type=rec_t, reconcile=True,
                         party_required=True)
    receivable.save()
    revenue = Account(name='Ventes', code='706', type=rev_t)
    revenue.save()
    return receivable, revenue


if SETUP_ONLY:
    chart()
    print('setup only: company, currency, accounts 411 and 706')
    sys.exit(0)

NAMES = ['Boulangerie Étienne', 'Müller Großhandel', 'Café Crème & Fils', 'Ñandú S.L.',
         'Atelier Zoë', 'Green Leaf Ltd', 'Fromagerie Besançon', 'Hôtel Méridien']
customers = []
for i, name in enumerate([n if k == 0 else f'{n} #{k}' for k in range(SCALE) for n in NAMES]):
    p = Party(name=name)
    a = p.addresses[0]
    a.city = ['Paris', 'Köln', 'Orléans', 'Málaga'][i % 4]
    a.postal_code = f'{75000 + i}'
    if i % 3 == 0:
        p.addresses.new(city='Lyon', postal_code='69002')
    p.save()
    customers.append(p)
inactive = Party(name='Ancien Client Archivé')
inactive.save()
inactive.active = False
inactive.save()

Uom = Model.get('product.uom')
unit, = Uom.find([('name', '=', 'Unit')])
kg, = Uom.find([('name', '=', 'Kilogram')])
Template = Model.get('product.template')
products = []
for i in range(12 * SCALE):
    t = Template(name=f'Produit {i:02d} – crème brûlée', type='goods',
                 default_uom=kg if i % 2 else unit)
    t.list_price = Decimal('12.3456') + Decimal(i) * Decimal('1.0101')
    t.salable = True
    t.purchasable = True
    t.code = f'P-{i:04d}'
    t.save()
    products.append(t.products[0])

Sale = Model.get('sale.sale')
for i in range(5 * SCALE):
    s = Sale(party=customers[i % len(customers)], sale_date=dt.date(2025, 3, 1) + dt.timedelta(days=i),
             description=f'Vente {i}')
    for j in range(1 + i % 3):
        line = s.lines.new()
        line.product = products[(i + j) % len(products)]
        line.quantity = (2.5 + j) if (i + j) % 2 else (2 + j)
        line.unit_price = Decimal('10.0001') * (j + 1)
    s.save()

Purchase = Model.get('purchase.purchase')
for i in range(3 * SCALE):
    pu = Purchase(party=customers[-1 - i % len(customers)],
                  purchase_date=dt.date(2025, 4, 2) + dt.timedelta(days=i))
    for j in range(2):
        line = pu.lines.new()
        line.product = products[j]
        line.quantity = 3.25 if j % 2 else 3
        line.unit_price = Decimal('7.1234')
    pu.save()

try:
    receivable, revenue = chart()
    Invoice = Model.get('account.invoice')
    Journal = Model.get('account.journal')
    journal, = Journal.find([('type', '=', 'revenue')], limit=1)
    for i in range(3 * SCALE):
        inv = Invoice(type='out', party=customers[i % len(customers)], journal=journal,
                      account=receivable, invoice_date=dt.date(2025, 5, 10) + dt.timedelta(days=i))
        line = inv.lines.new()
        line.account = revenue
        line.description = f'Prestation n° {i}'
        line.quantity = 2
        line.unit_price = Decimal('99.9900')
        inv.save()
except Exception as e:  # the data set is still usable without invoices
    print('invoices skipped:', e, file=sys.stderr)

for model in ['party.party', 'product.product', 'sale.sale', 'sale.line',
              'purchase.purchase', 'account.invoice', 'stock.location']:
    print(model, len(Model.get(model).find([('active', 'in', [True, False])]
                                            if 'active' in Model.get(model)._fields else [])))
