#!/usr/bin/env python3
"""Writes an ERP-like order-lines CSV of at least N bytes (default 1 GiB), deterministic."""
import random
import sys

target = int(sys.argv[2]) if len(sys.argv) > 2 else 1 << 30
rng = random.Random(7)
names = ["Société Générale d'Usinage", "Müller & Söhne GmbH", "Fundición Peñalara", "Brasserie Côte d'Émeraude",
         "Kühlsysteme Köln", "Menuiserie Lefèvre", "Plásticos Logroño", "Câblerie du Hainaut"]
states = ["draft", "sale", "done", "cancel"]
written = 0
i = 0
with open(sys.argv[1], "w", encoding="utf-8", newline="") as f:
    header = "id,order_ref,customer,product_code,quantity,unit_price,amount,currency,created_at,state,note\n"
    f.write(header)
    written += len(header)
    buf = []
    while written < target:
        for _ in range(10000):
            i += 1
            q = rng.randint(1, 5000)
            p = rng.randint(1, 10**7)
            line = (f"{i},SO{i // 7:09d},{names[i % 8]},{rng.randint(0, 99999):05d},{q // 1000}.{q % 1000:03d},"
                    f"{p // 100}.{p % 100:02d},{(q * p) // 1000 // 100}.{(q * p) // 1000 % 100:02d},EUR,"
                    f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}Z,{states[i % 4]},"
                    f"{'' if i % 3 else 'Livraison à quai — appeler avant'}\n")
            buf.append(line)
            written += len(line.encode())
        f.write("".join(buf))
        buf.clear()
print(i)
