#!/usr/bin/env python3
"""Generate the sqlveil sample data set (a small, entirely fictional retail/CRM data set).

Usage:  python3 examples/data/gen.py

Writes customers.csv, orders.csv, products.csv and tickets.ndjson into the folder
that holds this script. Python 3.11+ standard library only. The output is fully
deterministic: a fixed seed, no set iteration, no clock, no locale, so running the
script again reproduces every file byte for byte.

All personal data here is invented. Phone numbers use the fictional ranges
(US 555-01xx, UK 020 7946 0xxx), IP addresses use the documentation ranges
(192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32), and card numbers
and IBANs are random but checksum-valid, so the detectors accept them.

Some values are planted on purpose so that tests can look for them
(see PLANTED below and the notes in rules/sample.toml):
  * three customers with rare surnames (Cromusshaw, Wolstenholme, Ffoulkes);
  * exactly one customer with exactly one order (customer_id 137);
  * the city Boise with only 3 customers (below min_group_size = 5);
  * tickets that mention those customers by name / customer number.
"""

import csv
import json
import os
import random
import unicodedata
from datetime import date, datetime, timedelta

SEED = 20240517
HERE = os.path.dirname(os.path.abspath(__file__))

N_CUSTOMERS = 200
N_ORDERS = 1500
N_TICKETS = 300

# customer_id -> (first, last): planted rare names (tests search for these).
PLANTED = {
    17: ("Harriet", "Cromusshaw"),
    88: ("Ignatius", "Wolstenholme"),
    143: ("Peregrine", "Ffoulkes"),
}
# The one customer with exactly one order.
SINGLE_ORDER_CUSTOMER = 137

FIRST_NAMES = [
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda",
    "David", "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica",
    "Thomas", "Sarah", "Charles", "Karen", "Christopher", "Lisa", "Daniel", "Nancy",
    "Matthew", "Betty", "Anthony", "Sandra", "Mark", "Margaret", "Steven", "Ashley",
    "Andrew", "Kimberly", "Joshua", "Emily", "Kevin", "Donna", "Brian", "Michelle",
    "Wei", "Priya", "Mohammed", "Fatima", "Hiroshi", "Yuki", "Carlos", "Sofia",
    "José", "Zoë", "Liam", "Olivia", "Noah", "Ava", "Ethan", "Chloe",
    "Harriet", "Ignatius", "Peregrine", "Aaliyah",
]
LAST_NAMES = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
    "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
    "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson",
    "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker",
    "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
    "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell",
    "Carter", "Roberts", "Patel", "Kim", "Chen", "Tanaka", "O'Brien", "Müller",
    "Kowalski",
    # rare: used only for the planted customers above
    "Cromusshaw", "Wolstenholme", "Ffoulkes",
]
RARE_LAST = ["Cromusshaw", "Wolstenholme", "Ffoulkes"]
RARE_FIRST = ["Harriet", "Ignatius", "Peregrine"]

# city -> (number of customers, zip prefixes, area codes). Counts sum to 200.
CITIES = [
    ("New York", 36, [100, 101, 102, 103, 104], [212, 718, 917]),
    ("Chicago", 28, [606], [312, 773]),
    ("San Francisco", 24, [941], [415, 628]),
    ("Seattle", 20, [981], [206]),
    ("Austin", 18, [787], [512]),
    ("Denver", 16, [802], [303, 720]),
    ("Atlanta", 14, [303], [404, 678]),
    ("Portland", 12, [972], [503]),
    ("Miami", 11, [331], [305, 786]),
    ("Minneapolis", 10, [554], [612]),
    ("Phoenix", 8, [850], [602, 480]),
    ("Boise", 3, [837], [208]),
]
CITY_NAMES = [c[0] for c in CITIES]
assert sum(c[1] for c in CITIES) == N_CUSTOMERS

STREET_NAMES = [
    "Oak", "Maple", "Pine", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park",
    "Sunset", "Mission", "Madison", "Jefferson", "Lincoln", "Highland", "Willow",
    "Chestnut", "Spruce", "Riverside", "Franklin", "Walnut", "Birch", "Valencia",
    "Broadway",
]
STREET_SUFFIXES = ["Street", "Avenue", "Boulevard", "Road", "Lane", "Drive", "Court", "Way"]

CONSUMER_DOMAINS = [
    "gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com",
    "proton.me", "fastmail.com", "aol.com",
]
BUSINESS_DOMAINS = [
    "acme-corp.com", "globex.com", "initech.com", "umbrella-co.com", "hooli.io",
    "example.com",
]

PRODUCTS = [
    ("Electronics", [
        ("Wireless Earbuds", 79.99), ("Bluetooth Speaker", 49.50), ("USB-C Charger 65W", 34.99),
        ("Noise-Cancelling Headphones", 249.00), ("Smartwatch Series 5", 199.99),
        ("4K Streaming Stick", 39.99), ("Portable SSD 1TB", 109.95),
    ]),
    ("Home & Kitchen", [
        ("French Press", 29.95), ("Cast Iron Skillet", 44.00), ("Chef's Knife", 89.00),
        ("Espresso Machine", 399.00), ("Bamboo Cutting Board", 24.99),
        ("Stand Mixer", 329.99), ("Linen Duvet Cover", 119.00),
    ]),
    ("Apparel", [
        ("Merino Wool Sweater", 98.00), ("Rain Jacket", 129.00), ("Running Shorts", 35.00),
        ("Denim Jeans", 69.50), ("Cotton T-Shirt", 19.99), ("Leather Belt", 45.00),
    ]),
    ("Sports & Outdoors", [
        ("Yoga Mat", 32.00), ("Trail Running Shoes", 139.95), ("Camping Tent 2P", 189.00),
        ("Insulated Water Bottle", 27.50), ("Adjustable Dumbbells", 299.00),
        ("Bike Helmet", 59.99), ("Hiking Backpack 30L", 110.00),
    ]),
    ("Beauty", [
        ("Vitamin C Serum", 28.00), ("Mineral Sunscreen SPF 50", 18.50),
        ("Hair Dryer", 149.99), ("Beard Trimmer", 54.95), ("Lavender Hand Cream", 12.00),
        ("Facial Cleanser", 16.75),
    ]),
    ("Books", [
        ("The Quiet Harbor", 16.99), ("Data Without Fear", 42.00), ("Cooking for Two", 24.95),
        ("A Field Guide to Birds", 29.99), ("Midnight in Lisbon", 14.99),
        ("Practical Statistics", 54.00), ("Gardening Year-Round", 21.50),
    ]),
]

PLAIN_NOTES = [
    "Prefers email contact",
    "Prefers phone contact, after 5pm only",
    "Interested in the loyalty program",
    "Asked about bulk discounts for the office",
    "Do not send paper catalogs",
    "Frequent returner; check item condition",
    "Gift wrap every order, if possible",
    "Requested invoices in PDF",
    'Said "great service" in the 2023 survey',
    "Moved from the old address last spring",
    "Allergic to latex; flag for packaging",
    "Asked to pause marketing emails",
    "Upgraded to express shipping by default",
    "Left a 5-star review",
    "Wants delivery on weekdays only",
    "Account opened at the pop-up store",
]
PII_NOTES = [
    ("phone", "Called back from {phone} about a refund"),
    ("phone", "Alternate number {phone}, evenings only"),
    ("phone", "Left voicemail; call back at {phone}."),
    ("email", "Asked us to cc {email} on invoices"),
    ("email", "Wants receipts sent to {email} instead"),
    ("email", "Old address {email} bounces, do not use"),
    ("name", "Spouse {name} is authorized on the account"),
    ("name", "Referred by {name}"),
    ("name", "Package was signed for by {name}, a neighbor"),
]

TICKET_SUBJECTS = [
    "Refund request", "Where is my order?", "Damaged item", "Wrong size",
    "Change shipping address", "Cancel order", "Promo code not working",
    "Password reset", "Billing question", "Product question", "Warranty claim",
    "Late delivery", "Missing item in package", "Update payment method",
    "Account locked",
]
PLAIN_BODIES = [
    "My order arrived two days late and the box was crushed. The item seems fine though.",
    "Can you tell me whether the {product} comes with a warranty?",
    "I would like to return the {product}; it is not what I expected.",
    "The promo code SPRING24 says it has expired, but the email said it runs until Friday.",
    "I ordered the wrong size. How do I exchange it?",
    "Tracking has not updated in a week. Order #{order} still shows as pending.",
    "Please cancel my most recent order, I bought it twice by mistake.",
    "The app shows error code 0x80070057 when I try to check out.",
    "Is the {product} back in stock yet?",
    "Thanks for the quick replacement, everything works now.",
    "I was charged twice for order #{order}. Please refund one of them.",
    "The instructions for the {product} are missing from the box.",
    "Could you combine my two pending orders into one shipment?",
    "I never received the confirmation email for order #{order}.",
]
PII_BODIES = [
    ("email", "Please send the return label to {email}, my work address."),
    ("email", "I can't log in. My account email changed to {email} last month."),
    ("phone", "Please call me at {phone} to sort out the refund."),
    ("phone", "Nobody answered at {phone}, can someone try again after 6pm?"),
    ("card", "I was charged on my card {card} but the order shows as cancelled."),
    ("card", "Please update my card to {card}, exp 09/27."),
    ("iban", "For the refund, please wire it to IBAN {iban}."),
    ("iban", "My bank account changed, new IBAN is {iban}."),
    ("ipv4", "Your site blocks me from IP {ipv4}, I get a 403 on checkout."),
    ("ipv6", "Login fails from {ipv6} with 'too many attempts'."),
    ("name", "This is {name}. I ordered the {product} and it never arrived."),
    ("name", "I'm writing on behalf of {name}, who is in hospital; please hold the order."),
    ("customer_number", "My customer number is {customer_number}, please check my refund."),
    ("name+email", "Hi, {name} here; reach me at {email} about order #{order}."),
    ("name+phone", "{name} again. Still waiting, call {phone}."),
]


def ascii_fold(s):
    """'José O'Brien' -> 'joseobrien' (letters and digits only)."""
    s = unicodedata.normalize("NFKD", s)
    return "".join(ch for ch in s.lower() if ch.isascii() and ch.isalnum())


def luhn_check_digit(body):
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:  # these positions get doubled once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(number):
    digits = [int(c) for c in number if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card_number(rnd):
    prefix = rnd.choice(["4", "4", "4", "51", "52", "53", "54", "55", "6011"])
    body = prefix + "".join(str(rnd.randrange(10)) for _ in range(15 - len(prefix)))
    return body + luhn_check_digit(body)


def iban_check(country, bban):
    rearranged = bban + country + "00"
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return "%02d" % (98 - int(digits) % 97)


def iban_valid(iban):
    s = iban.replace(" ", "")
    rearranged = s[4:] + s[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def make_iban(rnd):
    country = rnd.choice(["DE", "DE", "GB", "NL", "FR"])
    if country == "DE":
        bban = "".join(str(rnd.randrange(10)) for _ in range(18))
    elif country == "GB":
        bban = rnd.choice(["NWBK", "BARC", "LOYD", "MIDL"]) + "".join(
            str(rnd.randrange(10)) for _ in range(14))
    elif country == "NL":
        bban = rnd.choice(["ABNA", "INGB", "RABO"]) + "".join(
            str(rnd.randrange(10)) for _ in range(10))
    else:  # FR: 23 digits
        bban = "".join(str(rnd.randrange(10)) for _ in range(23))
    iban = country + iban_check(country, bban) + bban
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))


def random_date(rnd, start, end):
    return date.fromordinal(rnd.randint(start.toordinal(), end.toordinal()))


def us_phone(rnd, area, style):
    line = "01%02d" % rnd.randrange(100)
    if style == "paren":
        return "(%d) 555-%s" % (area, line)
    if style == "dash":
        return "%d-555-%s" % (area, line)
    if style == "dot":
        return "%d.555.%s" % (area, line)
    return "+1 %d 555 %s" % (area, line)


def uk_phone(rnd):
    return "+44 20 7946 0%03d" % rnd.randrange(1000)


def any_phone(rnd):
    """A phone number for free text: any style."""
    r = rnd.random()
    if r < 0.2:
        return uk_phone(rnd)
    area = rnd.choice([a for c in CITIES for a in c[3]])
    return us_phone(rnd, area, rnd.choice(["paren", "dash", "dash", "dot", "plus"]))


def valid_ssn(rnd):
    while True:
        area = rnd.randint(1, 899)
        if area != 666:
            break
    return "%03d-%02d-%04d" % (area, rnd.randint(1, 99), rnd.randint(1, 9999))


def email_for(rnd, first, last, domain):
    f, l = ascii_fold(first), ascii_fold(last)
    style = rnd.randrange(5)
    if style == 0:
        local = "%s.%s" % (f, l)
    elif style == 1:
        local = "%s%s" % (f[0], l)
    elif style == 2:
        local = "%s%s%02d" % (f, l, rnd.randrange(100))
    elif style == 3:
        local = "%s_%s" % (f, l)
    else:
        local = "%s.%s%d" % (f[0], l, rnd.randint(1, 9))
    return "%s@%s" % (local, domain)


def write_csv(name, header, rows):
    path = os.path.join(HERE, name)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        w.writerow(header)
        w.writerows(rows)


def main():
    rnd = random.Random(SEED)

    # ---- products -------------------------------------------------------
    products = []  # (product_id, name, category, price_cents)
    pid = 1
    for category, items in PRODUCTS:
        for name, price in items:
            products.append((pid, name, category, int(round(price * 100))))
            pid += 1
    assert len(products) == 40, len(products)

    # ---- customers ------------------------------------------------------
    city_list = []
    for name, count, _, _ in CITIES:
        city_list.extend([name] * count)
    rnd.shuffle(city_list)
    city_info = {c[0]: c for c in CITIES}

    common_first = [f for f in FIRST_NAMES if f not in RARE_FIRST]
    common_last = [l for l in LAST_NAMES if l not in RARE_LAST]

    used_names, used_emails, used_numbers = {}, {}, {}
    used_ssn, used_cards, used_phones, used_streets = {}, {}, {}, {}
    customers = []
    for cid in range(1, N_CUSTOMERS + 1):
        city = city_list[cid - 1]
        _, _, zips, areas = city_info[city]
        if cid in PLANTED:
            first, last = PLANTED[cid]
        else:
            while True:
                first, last = rnd.choice(common_first), rnd.choice(common_last)
                if (first, last) not in used_names and (first, last) not in PLANTED.values():
                    break
        used_names[(first, last)] = cid
        full_name = "%s %s" % (first, last)

        while True:
            number = "CUST-%06d" % rnd.randint(100000, 999999)
            if number not in used_numbers:
                used_numbers[number] = cid
                break

        r = rnd.random()
        segment = "consumer" if r < 0.70 else ("business" if r < 0.92 else "vip")
        domains = BUSINESS_DOMAINS if segment == "business" else CONSUMER_DOMAINS
        while True:
            email = email_for(rnd, first, last, rnd.choice(domains))
            if email not in used_emails:
                used_emails[email] = cid
                break

        while True:
            if rnd.random() < 0.12:
                phone = uk_phone(rnd)
            else:
                style = rnd.choice(["paren"] * 7 + ["dash", "plus"])
                phone = us_phone(rnd, rnd.choice(areas), style)
            if phone not in used_phones:
                used_phones[phone] = cid
                break

        while True:
            street = "%d %s %s" % (rnd.randint(1, 9999), rnd.choice(STREET_NAMES),
                                   rnd.choice(STREET_SUFFIXES))
            if rnd.random() < 0.15:
                street += ", Apt %d%s" % (rnd.randint(1, 30), rnd.choice("ABCD"))
            if street not in used_streets:
                used_streets[street] = cid
                break

        zip_code = "%d%02d" % (rnd.choice(zips), rnd.randint(1, 99))
        dob = random_date(rnd, date(1950, 1, 1), date(2004, 12, 31))
        while True:
            ssn = valid_ssn(rnd)
            if ssn not in used_ssn:
                used_ssn[ssn] = cid
                break
        while True:
            card = card_number(rnd)
            if card not in used_cards:
                used_cards[card] = cid
                break
        if segment == "vip":
            income = rnd.randint(120, 250) * 1000 + rnd.randrange(1000)
        elif segment == "business":
            income = rnd.randint(55, 200) * 1000 + rnd.randrange(1000)
        else:
            income = rnd.randint(20, 140) * 1000 + rnd.randrange(1000)
        income = min(income, 250000)
        signup = random_date(rnd, date(2018, 1, 1), date(2024, 12, 31))
        customers.append({
            "customer_id": cid, "customer_number": number, "full_name": full_name,
            "first": first, "last": last, "email": email, "phone": phone,
            "street": street, "city": city, "zip": zip_code,
            "date_of_birth": dob.isoformat(), "ssn": ssn, "card_number": card,
            "income": income, "segment": segment, "signup_date": signup.isoformat(),
        })

    # notes: exactly 30% (60 of 200) mention PII
    pii_note_ids = set(rnd.sample(range(1, N_CUSTOMERS + 1), 60))
    for c in customers:
        if c["customer_id"] in pii_note_ids:
            kind, tmpl = rnd.choice(PII_NOTES)
            if kind == "phone":
                note = tmpl.format(phone=any_phone(rnd))
            elif kind == "email":
                f, l = rnd.choice(common_first), rnd.choice(common_last)
                note = tmpl.format(email=email_for(rnd, f, l, rnd.choice(CONSUMER_DOMAINS)))
            else:
                while True:
                    f, l = rnd.choice(common_first), rnd.choice(common_last)
                    if l != c["last"]:
                        break
                note = tmpl.format(name="%s %s" % (f, l))
            c["notes_kind"] = kind
        else:
            note = rnd.choice(PLAIN_NOTES)
            c["notes_kind"] = "plain"
        c["notes"] = note

    write_csv(
        "customers.csv",
        ["customer_id", "customer_number", "full_name", "email", "phone", "street", "city",
         "zip", "date_of_birth", "ssn", "card_number", "income", "segment", "signup_date",
         "notes"],
        [[c["customer_id"], c["customer_number"], c["full_name"], c["email"], c["phone"],
          c["street"], c["city"], c["zip"], c["date_of_birth"], c["ssn"], c["card_number"],
          c["income"], c["segment"], c["signup_date"], c["notes"]] for c in customers],
    )
    write_csv(
        "products.csv",
        ["product_id", "name", "category", "price"],
        [[p[0], p[1], p[2], "%d.%02d" % divmod(p[3], 100)] for p in products],
    )

    # ---- orders ---------------------------------------------------------
    # Order counts per customer: 8 customers never ordered, SINGLE_ORDER_CUSTOMER
    # ordered exactly once, everyone else at least twice, with a heavy tail.
    others = [c["customer_id"] for c in customers if c["customer_id"] != SINGLE_ORDER_CUSTOMER]
    no_orders = sorted(rnd.sample([i for i in others if i not in PLANTED], 8))
    active = [i for i in others if i not in no_orders]
    counts = {i: 2 for i in active}
    counts[SINGLE_ORDER_CUSTOMER] = 1
    weights = [min(rnd.paretovariate(1.1), 25.0) for _ in active]
    remaining = N_ORDERS - sum(counts.values())
    for i in rnd.choices(active, weights=weights, k=remaining):
        counts[i] += 1
    assert sum(counts.values()) == N_ORDERS
    assert [i for i in counts if counts[i] == 1] == [SINGLE_ORDER_CUSTOMER]

    product_weights = [rnd.uniform(0.3, 3.0) for _ in products]
    by_id = {c["customer_id"]: c for c in customers}
    raw_orders = []
    for cid in sorted(counts):
        for _ in range(counts[cid]):
            p = rnd.choices(products, weights=product_weights, k=1)[0]
            qty = rnd.choices([1, 2, 3, 4, 5], weights=[55, 25, 10, 6, 4], k=1)[0]
            discount = rnd.choices([0, 5, 10, 15], weights=[70, 12, 12, 6], k=1)[0]
            cents = p[3] * qty * (100 - discount) // 100
            status = rnd.choices(["shipped", "pending", "returned", "cancelled"],
                                 weights=[76, 10, 8, 6], k=1)[0]
            ship_city = by_id[cid]["city"] if rnd.random() < 0.85 else rnd.choice(CITY_NAMES)
            when = random_date(rnd, date(2023, 1, 1), date(2024, 12, 31))
            raw_orders.append((when, cid, p[0], qty, cents, status, ship_city))
    raw_orders.sort(key=lambda o: o[0])  # stable: ties keep generation order
    orders = []
    for n, (when, cid, prod, qty, cents, status, ship_city) in enumerate(raw_orders):
        orders.append([10001 + n, cid, when.isoformat(), prod, qty,
                       "%d.%02d" % divmod(cents, 100), status, ship_city])
    write_csv(
        "orders.csv",
        ["order_id", "customer_id", "order_date", "product_id", "quantity", "amount",
         "status", "ship_city"],
        orders,
    )

    # ---- tickets --------------------------------------------------------
    ticket_cust_weights = [min(rnd.paretovariate(1.3), 15.0) for _ in customers]
    # Planted mentions: these tickets (by index; ticket_id = 5001 + index) name the
    # rare-surname customers. With them, exactly 40% (120 of 300) bodies carry PII.
    planted_tickets = {5: 17, 77: 88, 211: 143}
    pii_ticket_idx = set(rnd.sample([t for t in range(N_TICKETS) if t not in planted_tickets],
                                    120 - len(planted_tickets)))
    pii_ticket_idx.update(planted_tickets)
    tickets = []
    start = datetime(2023, 1, 1)
    span = int((datetime(2024, 12, 31, 23, 59, 59) - start).total_seconds())
    for t in range(N_TICKETS):
        if t in planted_tickets:
            cust = by_id[planted_tickets[t]]
        else:
            cust = rnd.choices(customers, weights=ticket_cust_weights, k=1)[0]
        opened = start + timedelta(seconds=rnd.randrange(span))
        channel = rnd.choices(["email", "phone", "chat"], weights=[45, 25, 30], k=1)[0]
        subject = rnd.choice(TICKET_SUBJECTS)
        if rnd.random() < 0.06:
            subject = "%s (%s)" % (subject, cust["customer_number"])
        product = rnd.choice(products)[1]
        order = rnd.choice(orders)[0]
        if t in planted_tickets:
            body = ("This is %s, customer %s. The %s I ordered arrived broken."
                    % (cust["full_name"], cust["customer_number"], product))
            kind = "name+customer_number"
        elif t in pii_ticket_idx:
            kind, tmpl = rnd.choice(PII_BODIES)
            # "name" mentions are usually the ticket's own customer, sometimes someone else
            named = cust if rnd.random() < 0.7 else rnd.choice(customers)
            email = cust["email"] if rnd.random() < 0.5 else email_for(
                rnd, cust["first"], cust["last"], rnd.choice(CONSUMER_DOMAINS))
            card = card_number(rnd)
            card = " ".join(card[i:i + 4] for i in range(0, 16, 4))
            if rnd.random() < 0.25:
                card = card.replace(" ", "-")
            ipv4 = "%s.%d" % (rnd.choice(["192.0.2", "198.51.100", "203.0.113"]),
                              rnd.randint(1, 254))
            ipv6 = "2001:db8:%x:%x::%x" % (rnd.randrange(0x10000), rnd.randrange(0x10000),
                                           rnd.randint(1, 0xffff))
            body = tmpl.format(
                email=email, phone=any_phone(rnd) if rnd.random() < 0.6 else cust["phone"],
                card=card, iban=make_iban(rnd), ipv4=ipv4, ipv6=ipv6,
                name=named["full_name"], customer_number=cust["customer_number"],
                product=product, order=order)
        else:
            kind = "plain"
            body = rnd.choice(PLAIN_BODIES).format(product=product, order=order)
        tickets.append({
            "ticket_id": 5001 + t,
            "customer_id": cust["customer_id"],
            "opened_at": opened.strftime("%Y-%m-%d %H:%M:%S"),
            "channel": channel,
            "subject": subject,
            "body": body,
        })
    path = os.path.join(HERE, "tickets.ndjson")
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for rec in tickets:
            fh.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")

    # ---- self-checks ----------------------------------------------------
    for c in customers:
        assert luhn_valid(c["card_number"]) and len(c["card_number"]) == 16
        a, g, s = c["ssn"].split("-")
        assert a not in ("000", "666") and int(a) < 900 and g != "00" and s != "0000"
        assert 10000 <= int(c["zip"]) <= 99999
    assert iban_check("DE", "370400440532013000") == "89"
    assert iban_valid("DE89 3704 0044 0532 0130 00")
    assert luhn_valid("4111 1111 1111 1111")


if __name__ == "__main__":
    main()
