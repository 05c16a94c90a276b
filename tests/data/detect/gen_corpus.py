#!/usr/bin/env python3
"""Write the labelled free-text PII corpus: text the way people write it.

    python3 tests/data/detect/gen_corpus.py            # rewrite corpus.jsonl
    python3 tests/data/detect/gen_corpus.py --check    # exit 1 if it is stale
    python3 tests/data/detect/gen_corpus.py --stats    # counts per label/form/kind

This generator is written from the way people write personal data, not
from the detectors: it shares no code, regex or table with `src/detect/`,
and it was written, and the old detectors scored on it, before they
were changed.  It knows four authors:

* clinic staff writing visit notes (terse, abbreviations, `SSN 789 28 1752
  verified`, `cb 4157320134`);
* support agents writing tickets (cards pasted in any grouping, bank
  details for refunds, order and tracking numbers);
* programs writing log lines (addresses with ports, IPv6 with zones and
  brackets, build numbers, MAC addresses, UUIDs, timestamps);
* people writing emails (greetings, signatures with phone lines, line
  breaks).

Every value is made by its own small generator (valid SSN areas, Luhn check
digits, IBAN mod-97 check digits computed here), spelled in the ways people
spell it, and labelled with its `form` (`ssn/space`, `phone/e164`, ...).
Look-alikes are planted as `decoys` with a `kind`: text that resembles PII
but is none (dates, order and tracking numbers, version strings, invalid
SSNs, Luhn-invalid card numbers, bad IBAN checksums, IMEIs, ISBNs, MAC
addresses, times, OIDs, section numbers, `icon@2x.png`, ...).

A weak spelling (a bare 9-digit SSN, an unseparated 10-digit phone number)
is written the way people write it, next to what says what it is (`SSN`,
`cell`, `cb`, `ph`); a bare digit run with nothing of the kind is a
look-alike (an order, claim or routing number).

Deterministic: fixed seed, standard library only.
"""

import argparse
import json
import os
import random
import re
import sys

SEED = 1212
DEFAULT_RECORDS = 3200
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "corpus.jsonl")
LABELS = ["email", "phone", "ssn", "credit_card", "iban", "ipv4", "ipv6"]

# ---------------------------------------------------------------------------
# People, places and things
# ---------------------------------------------------------------------------

FIRST = ["Maria", "James", "Aisha", "Tom", "Priya", "Luis", "Hannah", "Kwame",
         "Sofia", "Dmitri", "Grace", "Omar", "Zoë", "José", "Søren", "Łucja",
         "Chloé", "Björn", "Renée", "Ngọc", "Mónica", "Çağrı", "Anaïs", "Wei",
         "Fatima", "Ivan", "Keiko", "Liam", "Noor", "Pedro"]
LAST = ["Johnson", "Okafor", "Nguyen", "García", "Patel", "Kim", "Müller",
        "O'Neil", "Kowalski", "Rossi", "Ødegaard", "Dvořák", "Yamamoto",
        "Silva", "Cohen", "Brown", "Peña", "Lindqvist", "Haddad", "Chen"]
DRUGS = ["metformin 500 mg bid", "lisinopril 10 mg qd", "atorvastatin 20 mg qhs",
         "amoxicillin 875 mg q12h x10d", "sertraline 50 mg", "albuterol PRN"]
PRODUCTS = ["Pro plan", "mobile app", "billing portal", "router", "export job",
            "desktop client", "Team plan", "2FA login", "invoice PDF"]
HOSTS = ["web-01", "api-eu-2", "db-primary", "edge03", "worker-7", "bastion"]


def name(r):
    return f"{r.choice(FIRST)} {r.choice(LAST)}"


# ---------------------------------------------------------------------------
# Checksums (written here, from the standards)
# ---------------------------------------------------------------------------

def luhn_digit(payload):
    """The check digit that makes payload + digit pass the Luhn test."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_ok(number):
    digits = [int(c) for c in number]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_digits(country, bban):
    """ISO 13616 check digits for a country and BBAN."""
    s = (bban + country + "00").upper()
    n = int("".join(str(int(c, 36)) for c in s))
    return f"{98 - n % 97:02d}"


# ---------------------------------------------------------------------------
# Positives: (text, form)
# ---------------------------------------------------------------------------

def ssn_number(r):
    while True:
        area = r.randint(1, 899)
        if area != 666:
            break
    return f"{area:03d}", f"{r.randint(1, 99):02d}", f"{r.randint(1, 9999):04d}"


def ssn_separated(r):
    a, g, s = ssn_number(r)
    sep, form = r.choice([("-", "dash"), ("-", "dash"), (" ", "space"), (".", "dot")])
    return f"{a}{sep}{g}{sep}{s}", f"ssn/{form}"


def ssn_any(r):
    """After a word that says it is an SSN, people also drop separators."""
    if r.random() < 0.45:
        a, g, s = ssn_number(r)
        return a + g + s, "ssn/bare"
    return ssn_separated(r)


SSN_CONTEXT = ["SSN", "SSN:", "ssn", "SSN#", "SS#", "SS #", "Social Security #",
               "social security number", "Social Security No.", "soc sec #",
               "SSN is", "ss no.", "social sec", "SSN on file:", "SSN (verified)"]


def nanp(r):
    area = r.choice(["212", "312", "415", "617", "702", "206", "305", "512",
                     "646", "773", "808", "919", "214", "480", "503", "971"])
    exch = f"{r.randint(2, 9)}{r.randint(0, 9)}{r.randint(0, 9)}"
    line = f"{r.randint(0, 9999):04d}"
    return area, exch, line


def phone_us(r):
    a, e, l = nanp(r)
    forms = [
        (f"({a}) {e}-{l}", "nanp/paren"),
        (f"({a}){e}-{l}", "nanp/paren_tight"),
        (f"{a}-{e}-{l}", "nanp/dash"),
        (f"{a}.{e}.{l}", "nanp/dot"),
        (f"{a} {e} {l}", "nanp/space"),
        (f"+1 {a} {e} {l}", "nanp/plus1"),
        (f"+1-{a}-{e}-{l}", "nanp/plus1"),
        (f"+1 ({a}) {e}-{l}", "nanp/plus1"),
        (f"1-{a}-{e}-{l}", "nanp/1dash"),
        (f"1 ({a}) {e}-{l}", "nanp/1dash"),
        (f"+1{a}{e}{l}", "e164"),
        (f"{a}-{e}-{l} ext. {r.randint(2, 999)}", "ext"),
        (f"({a}) {e}-{l} x{r.randint(10, 9999)}", "ext"),
        (f"{a}.{e}.{l} ext {r.randint(2, 99)}", "ext"),
    ]
    return r.choice(forms)


def phone_intl(r):
    forms = [
        (f"+44 20 {r.randint(7000, 8999)} {r.randint(0, 9999):04d}", "intl/plus"),
        (f"+44 7{r.randint(100, 999)} {r.randint(100000, 999999)}", "intl/plus"),
        (f"+44 (0)20 {r.randint(7000, 8999)} {r.randint(0, 9999):04d}", "intl/plus_trunk"),
        (f"+49 30 {r.randint(1000000, 99999999)}", "intl/plus"),
        (f"+49 (0)89 {r.randint(1000, 9999)} {r.randint(100, 9999)}", "intl/plus_trunk"),
        (f"+33 1 {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)}", "intl/plus"),
        (f"+33 6 {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)}", "intl/plus"),
        (f"+61 2 {r.randint(8000, 9999)} {r.randint(0, 9999):04d}", "intl/plus"),
        (f"+91 {r.randint(70000, 99999)} {r.randint(10000, 99999)}", "intl/plus"),
        (f"+81 3-{r.randint(1000, 9999)}-{r.randint(0, 9999):04d}", "intl/plus"),
        (f"+86 138 {r.randint(0, 9999):04d} {r.randint(0, 9999):04d}", "intl/plus"),
        (f"+52 55 {r.randint(1000, 9999)} {r.randint(0, 9999):04d}", "intl/plus"),
        (f"+353 1 {r.randint(200, 999)} {r.randint(0, 9999):04d}", "intl/plus"),
        (f"+47 {r.randint(20, 99)} {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)}", "intl/plus"),
        (f"0044 20 {r.randint(7000, 8999)} {r.randint(0, 9999):04d}", "intl/00"),
        (f"00 49 30 {r.randint(1000000, 9999999)}", "intl/00"),
        (f"0033 6 {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)}", "intl/00"),
        (f"+4420{r.randint(70000000, 89999999)}", "e164"),
        (f"+4915{r.randint(100000000, 999999999)}", "e164"),
        (f"+33{r.randint(600000000, 799999999)}", "e164"),
    ]
    return r.choice(forms)


def phone_trunk(r):
    forms = [
        (f"020 {r.randint(7000, 8999)} {r.randint(0, 9999):04d}", "trunk/uk"),
        (f"07{r.randint(100, 999)} {r.randint(100000, 999999)}", "trunk/uk"),
        (f"(020) {r.randint(7000, 8999)} {r.randint(0, 9999):04d}", "trunk/uk"),
        (f"0161 {r.randint(200, 999)} {r.randint(0, 9999):04d}", "trunk/uk"),
        (f"030 {r.randint(1000000, 99999999)}", "trunk/de"),
        (f"030/{r.randint(1000000, 9999999)}", "trunk/de"),
        (f"0171 {r.randint(1000000, 9999999)}", "trunk/de"),
        (f"01 {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)}", "trunk/fr"),
        (f"06.{r.randint(10, 99)}.{r.randint(10, 99)}.{r.randint(10, 99)}.{r.randint(10, 99)}", "trunk/fr"),
        (f"(02) {r.randint(8000, 9999)} {r.randint(0, 9999):04d}", "trunk/au"),
        (f"04{r.randint(10, 99)} {r.randint(100, 999)} {r.randint(100, 999)}", "trunk/au"),
    ]
    return r.choice(forms)


def phone(r):
    x = r.random()
    if x < 0.55:
        return phone_us(r)
    if x < 0.8:
        return phone_intl(r)
    return phone_trunk(r)


def phone_any(r):
    """After a word that says it is a phone, people also write bare digits."""
    x = r.random()
    if x < 0.3:
        a, e, l = nanp(r)
        return a + e + l, "nanp/bare"
    if x < 0.36:
        a, e, l = nanp(r)
        return "1" + a + e + l, "nanp/bare1"
    if x < 0.42:
        return r.choice([f"020{r.randint(70000000, 89999999)}",
                         f"07{r.randint(100000000, 999999999)}"]), "trunk/bare"
    return phone(r)


PHONE_CONTEXT = ["cell", "Cell:", "mobile", "Mobile:", "ph", "ph.", "Ph:", "phone",
                 "Phone:", "tel", "Tel.", "call", "call me at", "text me at",
                 "cb", "callback #", "fax", "Fax:", "WhatsApp", "reach her at",
                 "home #", "contact no.", "phone number", "cell #", "mob."]


def card_payload(r):
    """(digits, network) with a real issuer prefix and length."""
    kind = r.choice(["visa", "visa", "visa", "mc", "mc2", "amex", "amex",
                     "discover", "diners", "jcb", "unionpay", "maestro",
                     "visa13", "visa19", "mir"])
    if kind == "visa":
        head, n = "4" + str(r.randint(10000, 99999)), 16
    elif kind == "visa13":
        head, n = "4" + str(r.randint(10000, 99999)), 13
    elif kind == "visa19":
        head, n = "4" + str(r.randint(10000, 99999)), 19
    elif kind == "mc":
        head, n = str(r.randint(51, 55)) + str(r.randint(1000, 9999)), 16
    elif kind == "mc2":
        head, n = str(r.randint(2221, 2720)) + str(r.randint(10, 99)), 16
    elif kind == "amex":
        head, n = r.choice(["34", "37"]) + str(r.randint(1000, 9999)), 15
    elif kind == "discover":
        head, n = r.choice(["6011", "65" + str(r.randint(10, 99)),
                            str(r.randint(644, 649)) + "1"]) + str(r.randint(10, 99)), 16
    elif kind == "diners":
        head, n = r.choice(["36", "38", "30" + str(r.randint(0, 5))]) + str(r.randint(1000, 9999)), 14
    elif kind == "jcb":
        head, n = str(r.randint(3528, 3589)) + str(r.randint(10, 99)), 16
    elif kind == "unionpay":
        head, n = "62" + str(r.randint(1000, 9999)), r.choice([16, 17, 18, 19])
    elif kind == "maestro":
        head, n = r.choice(["5018", "5020", "5038", "6304", "6759", "6761"]) + str(r.randint(10, 99)), r.choice([16, 18, 19])
    else:
        head, n = "220" + str(r.randint(0, 4)) + str(r.randint(10, 99)), 16
    body = head + "".join(str(r.randint(0, 9)) for _ in range(n - len(head) - 1))
    return body + luhn_digit(body), kind


def group(digits, sizes, sep):
    out, i = [], 0
    for s in sizes:
        out.append(digits[i:i + s])
        i += s
    if i < len(digits):
        out.append(digits[i:])
    return sep.join(out)


def spell_card(digits, r):
    n = len(digits)
    if n == 15:
        sizes = [4, 6, 5]
    elif n == 14:
        sizes = [4, 6, 4]
    elif n == 16:
        sizes = [4, 4, 4, 4]
    else:
        sizes = [4] * (n // 4)
    sep, form = r.choice([(" ", "space"), (" ", "space"), ("-", "dash"),
                          (".", "dot"), ("", "run"), ("", "run")])
    return group(digits, sizes, sep) if sep else digits, form


def card(r):
    digits, kind = card_payload(r)
    text, form = spell_card(digits, r)
    return text, f"{kind}/{form}"


IBAN_LAYOUT = {  # country: BBAN as (kind, count) runs; n digits, a upper letters, c alnum
    "DE": [("n", 18)], "GB": [("a", 4), ("n", 14)], "FR": [("n", 10), ("c", 11), ("n", 2)],
    "ES": [("n", 20)], "NL": [("a", 4), ("n", 10)], "IT": [("a", 1), ("n", 10), ("c", 12)],
    "BE": [("n", 12)], "CH": [("n", 5), ("c", 12)], "AT": [("n", 16)],
    "PL": [("n", 24)], "IE": [("a", 4), ("n", 14)], "NO": [("n", 11)],
    "SE": [("n", 20)], "DK": [("n", 14)], "FI": [("n", 14)], "PT": [("n", 21)],
    "LU": [("n", 3), ("c", 13)], "CZ": [("n", 20)], "GR": [("n", 7), ("c", 16)],
    "HU": [("n", 24)], "RO": [("a", 4), ("c", 16)], "TR": [("n", 5), ("n", 1), ("c", 16)],
    "SA": [("n", 2), ("c", 18)], "AE": [("n", 3), ("n", 16)], "BR": [("n", 23), ("a", 1), ("c", 1)],
}
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def iban_parts(r):
    country = r.choice(list(IBAN_LAYOUT))
    bban = ""
    for kind, count in IBAN_LAYOUT[country]:
        for _ in range(count):
            if kind == "n" or (kind == "c" and r.random() < 0.7):
                bban += str(r.randint(0, 9))
            else:
                bban += r.choice(UPPER)
    return country, iban_digits(country, bban), bban


def spell_iban(compact, r):
    x = r.random()
    if x < 0.35:
        return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4)), "groups4"
    if x < 0.55:
        return compact, "compact"
    if x < 0.72:
        return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4)).lower(), "lower"
    if x < 0.86:
        # Irregular spacing, as typed or pasted from a statement.
        cuts = sorted(r.sample(range(2, len(compact) - 1), r.randint(2, 4)))
        parts, last = [], 0
        for c in cuts:
            parts.append(compact[last:c])
            last = c
        parts.append(compact[last:])
        return " ".join(parts), "irregular"
    return compact[:2] + " " + compact[2:4] + " " + compact[4:], "cc_space"


def iban(r):
    c, k, b = iban_parts(r)
    text, form = spell_iban(c + k + b, r)
    return text, f"iban/{form}"


def ipv4_addr(r):
    x = r.random()
    if x < 0.3:
        return f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
    if x < 0.5:
        return f"192.168.{r.randint(0, 255)}.{r.randint(1, 254)}"
    if x < 0.6:
        return f"172.{r.randint(16, 31)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
    if x < 0.75:
        return f"{r.choice(['192.0.2', '198.51.100', '203.0.113'])}.{r.randint(1, 254)}"
    return f"{r.randint(1, 223)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"


def ipv4(r):
    return ipv4_addr(r), "ipv4/plain"


def hextet(r, lo=0, hi=0xFFFF):
    return f"{r.randint(lo, hi):x}"


def ipv6_body(r):
    x = r.random()
    if x < 0.15:
        return ":".join(f"{r.randint(0, 0xFFFF):04x}" for _ in range(8)), "full"
    if x < 0.3:
        return "2001:db8:" + ":".join(hextet(r) for _ in range(2)) + "::" + hextet(r, 1), "compressed"
    if x < 0.4:
        return "fe80::" + ":".join(hextet(r) for _ in range(r.randint(1, 4))), "link_local"
    if x < 0.47:
        return "::1", "loopback"
    if x < 0.55:
        return "2001:db8:" + hextet(r) + "::", "trailing"
    if x < 0.65:
        return f"::ffff:{ipv4_addr(r)}", "v4_mapped"
    if x < 0.7:
        return f"64:ff9b::{ipv4_addr(r)}", "v4_embedded"
    if x < 0.8:
        return ("2001:db8:" + ":".join(hextet(r) for _ in range(3)) + "::" + hextet(r, 1)).upper(), "upper"
    return "2a00:" + ":".join(hextet(r) for _ in range(7)), "eight_groups"


def ipv6(r):
    body, form = ipv6_body(r)
    return body, f"ipv6/{form}"


def ipv6_zone(r):
    body = "fe80::" + ":".join(hextet(r) for _ in range(r.randint(1, 4)))
    return body + r.choice(["%eth0", "%en0", "%3", "%wlan0", "%25eth0"]), "ipv6/zone"


DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "example.com", "acme.io",
           "clinic-north.org", "mail.example.co.uk", "uni-hamburg.de", "posteo.de",
           "hospital.nhs.uk", "proton.me"]
IDN_DOMAINS = ["bücher.de", "müller-bäckerei.de", "café.fr", "пример.рф", "例え.jp",
               "xn--bcher-kva.de", "xn--80akhbyknj4f.xn--p1ai", "straße.at"]


def email(r):
    f, l = r.choice(FIRST), r.choice(LAST)
    fa = f.lower().translate(str.maketrans("ëéèíóñçğıłøöüäåßạọ", "eeeioncgiloouaasao"))
    la = l.lower().replace("'", "").translate(str.maketrans("ëéèíóñçğıłøöüäåßřá", "eeeioncgiloouaasra"))
    x = r.random()
    if x < 0.3:
        return f"{fa}.{la}@{r.choice(DOMAINS)}", "email/plain"
    if x < 0.42:
        return f"{fa[0]}{la}{r.randint(1, 99)}@{r.choice(DOMAINS)}", "email/plain"
    if x < 0.56:
        tag = r.choice(["billing", "news", "work", "2024", "shop", "clinic"])
        return f"{fa}.{la}+{tag}@{r.choice(DOMAINS)}", "email/subaddress"
    if x < 0.66:
        return f'"{fa} {la}"@{r.choice(DOMAINS)}', "email/quoted"
    if x < 0.72:
        return f'"{fa}..{la}"@{r.choice(DOMAINS)}', "email/quoted"
    if x < 0.84:
        return f"{fa}@{r.choice(IDN_DOMAINS)}", "email/idn"
    if x < 0.9:
        return f"{f.lower()}.{l.lower()}@{r.choice(IDN_DOMAINS[:4])}", "email/unicode_local"
    if x < 0.95:
        return f"{fa}.{la}@{r.choice(DOMAINS)}".upper(), "email/upper"
    return f"{fa}_{la}@{r.choice(DOMAINS)}", "email/plain"


# ---------------------------------------------------------------------------
# Look-alikes: (text, kind)
# ---------------------------------------------------------------------------

def d_date(r):
    y, m, d = r.randint(1950, 2025), r.randint(1, 12), r.randint(1, 28)
    return r.choice([f"{m:02d}/{d:02d}/{y}", f"{y}-{m:02d}-{d:02d}", f"{d:02d}.{m:02d}.{y}",
                     f"{m}/{d}/{str(y)[2:]}", f"{d:02d}-{m:02d}-{y}"]), "date"


def d_time(r):
    return r.choice([f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}",
                     f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}",
                     f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}.{r.randint(0, 999):03d}"]), "time"


def d_id9(r):
    return str(r.randint(100000000, 899999999)), "id9"


def d_id10(r):
    return str(r.randint(2000000000, 9899999999)), "id10"


def d_order(r):
    return r.choice([f"#{r.randint(10000, 999999)}", f"INV-{r.randint(2019, 2025)}-{r.randint(1, 99999):05d}",
                     f"PO-{r.randint(100000, 999999)}", f"{r.randint(100, 999)}-{r.randint(1000000, 9999999)}-{r.randint(1000000, 9999999)}"]), "order"


def d_zip4(r):
    return f"{r.randint(10000, 99999)}-{r.randint(1000, 9999)}", "zip4"


def d_price(r):
    return r.choice([f"${r.randint(1, 9999):,}.{r.randint(0, 99):02d}", f"€{r.randint(1, 999)},{r.randint(0, 99):02d}",
                     f"USD {r.randint(100, 99999)}.00"]), "price"


def d_version4(r):
    return r.choice([f"10.0.{r.randint(17000, 22631)}.{r.randint(100, 4000)}",
                     f"v{r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 99)}.{r.randint(0, 255)}",
                     f"{r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 9)}.{r.randint(0, 255)}-build",
                     f"{r.randint(1, 9)}.{r.randint(0, 9)}.{r.randint(0, 9)}.{r.randint(0, 99)}-rc{r.randint(1, 4)}",
                     f"{r.randint(100, 131)}.0.{r.randint(5000, 6999)}.{r.randint(10, 250)}",
                     f"{r.randint(1, 9)}.{r.randint(0, 9)}.{r.randint(0, 9)}.{r.randint(0, 9)}.{r.randint(0, 9)}"]), "version"


def d_version_word(r):
    """A four-part version all of whose parts fit an address, after a version word."""
    v = f"{r.randint(1, 12)}.{r.randint(0, 30)}.{r.randint(0, 99)}.{r.randint(0, 255)}"
    return v, "version"


VERSION_WORDS = ["version", "Version", "version:", "v", "ver."]


def d_oid(r):
    return f"1.3.6.1.4.1.{r.randint(1, 60000)}.{r.randint(1, 20)}", "oid"


def d_ssn_bad(r):
    """SSA never issues area 000, 666 or 900-999, group 00 or serial 0000."""
    a, g, s = r.randint(1, 665), r.randint(1, 99), r.randint(1, 9999)
    defect = r.choice(["area0", "area666", "area9", "group", "serial"])
    if defect == "area0":
        a = 0
    elif defect == "area666":
        a = 666
    elif defect == "area9":
        a = r.randint(900, 999)
    elif defect == "group":
        g = 0
    else:
        s = 0
    return f"{a:03d}-{g:02d}-{s:04d}", "invalid_ssn"


def d_card_bad(r):
    digits, _ = card_payload(r)
    wrong = str((int(digits[-1]) + r.randint(1, 9)) % 10)
    text, _ = spell_card(digits[:-1] + wrong, r)
    return text, "luhn_invalid_card"


def d_iban_bad(r):
    c, k, b = iban_parts(r)
    bad = f"{(int(k) + r.randint(1, 90)) % 97 + 2:02d}"
    if bad == k:
        bad = f"{(int(k) + 1) % 97 + 2:02d}"
    text, _ = spell_iban(c + bad + b, r)
    return text, "bad_iban"


def d_imei(r):
    body = "35" + "".join(str(r.randint(0, 9)) for _ in range(12))
    return body + luhn_digit(body), "imei"


def d_usps(r):
    digits = "9400" + "".join(str(r.randint(0, 9)) for _ in range(18))
    return " ".join(digits[i:i + 4] for i in range(0, 22, 4)), "tracking"


def d_isbn(r):
    body = "978" + "".join(str(r.randint(0, 9)) for _ in range(9))
    check = (10 - sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(body)) % 10) % 10
    return f"{body[:3]}-{body[3]}-{body[4:7]}-{body[7:12]}-{check}", "isbn"


def d_uuid(r):
    h = "%032x" % r.getrandbits(128)
    u = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"
    return (u.upper() if r.random() < 0.2 else u), "uuid"


def d_mac(r):
    sep = r.choice([":", "-"])
    return sep.join(f"{r.randint(0, 255):02X}" for _ in range(6)), "mac"


def d_code(r):
    return r.choice(["std::vector", "Vec::new()", "Foo::bar", "a::b", "HashMap::with_capacity",
                     "dead::beef", "Cafe::Add"]), "code"


def d_ratio(r):
    return r.choice(["16:9", "4:3", "John 3:16", "1:1", "2:1"]), "ratio"


def d_retina(r):
    return r.choice(["logo@2x.png", "icon@3x.png", "avatar@2x.jpg", "hero@1.5x.webp"]), "at_file"


def d_mention(r):
    return r.choice(["@channel", "@here", "@jdoe", "@support-team"]), "mention"


def d_routing(r):
    return r.choice(["021000021", "026009593", "121000248", "011401533"]), "routing"


def d_section(r):
    return f"{r.randint(1, 9)}.{r.randint(1, 9)}.{r.randint(1, 9)}.{r.randint(1, 9)}", "section"


def d_hex(r):
    return f"0x{r.getrandbits(32):08X}", "hex"


def d_dims(r):
    return r.choice(["1920x1080", "3 x 250 mg", "2560x1440", "10 x 20 cm"]), "dims"


def d_vat(r):
    return r.choice([f"DE{r.randint(100000000, 999999999)}", f"GB{r.randint(100000000, 999999999)}",
                     f"FR{r.randint(10, 99)}{r.randint(100000000, 999999999)}"]), "vat"


def d_bic(r):
    return r.choice(["DEUTDEFF", "COBADEFFXXX", "BOFAUS3N", "NWBKGB2L", "INGBNL2A"]), "bic"


def d_unix(r):
    return str(r.randint(1600000000, 1799999999)), "timestamp"


def d_mrn(r):
    return str(r.randint(1000000, 99999999)), "mrn"


def d_npi(r):
    return "1" + str(r.randint(100000000, 999999999)), "npi"


# ---------------------------------------------------------------------------
# Templates
# ---------------------------------------------------------------------------
#
# {label:maker} slots are gold spans, {~kind:maker} slots are look-alikes,
# {w:list} slots are words drawn from a list, {name}/{first} are names.

POS = {"ssn": ssn_separated, "ssn_any": ssn_any, "phone": phone, "phone_any": phone_any,
       "phone_us": phone_us, "phone_intl": phone_intl, "phone_trunk": phone_trunk,
       "card": card, "iban": iban, "email": email, "ipv4": ipv4, "ipv6": ipv6,
       "ipv6_zone": ipv6_zone}
POS_LABEL = {"ssn": "ssn", "ssn_any": "ssn", "phone": "phone", "phone_any": "phone",
             "phone_us": "phone", "phone_intl": "phone", "phone_trunk": "phone",
             "card": "credit_card", "iban": "iban", "email": "email", "ipv4": "ipv4",
             "ipv6": "ipv6", "ipv6_zone": "ipv6"}
NEG = {"date": d_date, "time": d_time, "id9": d_id9, "id10": d_id10, "order": d_order,
       "zip4": d_zip4, "price": d_price, "version": d_version4, "version_word": d_version_word,
       "oid": d_oid, "ssn_bad": d_ssn_bad, "card_bad": d_card_bad, "iban_bad": d_iban_bad,
       "imei": d_imei, "tracking": d_usps, "isbn": d_isbn, "uuid": d_uuid, "mac": d_mac,
       "code": d_code, "ratio": d_ratio, "at_file": d_retina, "mention": d_mention,
       "routing": d_routing, "section": d_section, "hex": d_hex, "dims": d_dims,
       "vat": d_vat, "bic": d_bic, "timestamp": d_unix, "mrn": d_mrn, "npi": d_npi}
WORDS = {"ssn_ctx": SSN_CONTEXT, "phone_ctx": PHONE_CONTEXT, "version_ctx": VERSION_WORDS,
         "drug": DRUGS, "product": PRODUCTS, "host": HOSTS}

CLINIC = [
    "Pt {name}, DOB {~date}. {w:ssn_ctx} {ssn_any} verified w/ ins card.",
    "{w:ssn_ctx} {ssn_any}",
    "Pt called re: refill of {w:drug}, {w:phone_ctx} {phone_any}.",
    "Spoke w/ daughter, {w:phone_ctx} {phone_any}; she confirmed {w:ssn_ctx} {ssn_any}.",
    "BP 128/82, HR 72, T 98.6. Next appt {~date} @ {~time}.",
    "MRN {~mrn}. Claim {~id9} submitted {~date}.",
    "Pharmacy fax {phone}. Rx #{~mrn}.",
    "Pt requests portal access, email {email}.",
    "Lab req {~id10} sent to Quest, results expected {~date}.",
    "Referral to Dr. {last} ({phone}).",
    "Emergency contact: {name}, {w:phone_ctx} {phone_any}.",
    "Ins member ID {~id9}, group {~mrn}. Copay {~price}.",
    "Ordering provider NPI {~npi}.",
    "SSN {ssn} on the intake form, but the old chart had {~ssn_bad} (typo?).",
    "Billing: ins denied claim {~id10}, pt will pay {~price} by card {card}.",
    "Pt moved, new address zip {~zip4}, new cell {phone}.",
    "Social Security number updated to {ssn} per pt.",
    "Pt's son {name} asked for records; mailed to {email} on {~date}.",
    "Amended note {~date} {~time}: {w:ssn_ctx} {ssn_any}, not {~ssn_bad}.",
    "Interpreter line {phone_intl}. Pt prefers Spanish.",
    "Weight 82 kg, BMI 27.4. Dose {w:drug}. Routing for refund {~routing}.",
    "Pt returned call from {phone_trunk} (visiting family abroad).",
]

TICKET = [
    "Ticket {~order}: customer can't log in to the {w:product}, email on file {email}.",
    "Card {card} declined twice at checkout, order {~id10}.",
    "Customer says the card {~card_bad} is wrong, the right one is {card}.",
    "Please refund to IBAN {iban}, not the card.",
    "New bank details: {iban} (old one {~iban_bad} bounced).",
    "Called {phone} twice, no answer. Left vm.",
    "Order {~order} shipped, tracking {~tracking}.",
    "Customer's phone IMEI {~imei} is blacklisted, asked for unlock.",
    "Customer on build {~version} of the {w:product} sees error {~hex}.",
    "Book {~isbn} arrived damaged, replacement sent.",
    "Refund of {~price} issued to the card ending in {last4}.",
    "Customer wants callback at {phone_us} between {~time} and {~time}.",
    "Escalated: customer pasted full card {card} exp 09/27 in chat, please purge.",
    "Customer asked to update the email to {email} and the phone to {phone}.",
    "Merchant VAT {~vat}, BIC {~bic}.",
    "Dup charge on {~date}: {~price} + {~price}; card {card}.",
    "Customer in Germany, {w:phone_ctx} {phone_any}, IBAN {iban}.",
    "Screen is {~dims}, asset logo@2x missing: {~at_file}.",
    "Ping {~mention} about order {~id10} please.",
    "SSN {~ssn_bad} rejected by the form, customer re-entered {ssn}.",
    "{w:phone_ctx} {phone_any} — customer prefers text.",
    "Account {~id10} locked after 5 attempts; customer {w:ssn_ctx} {ssn_any} matched.",
    "Pls check card {card} and {card}, both flagged.",
]

LOGS = [
    "{~date}T{~time}Z INFO sshd[{pid}]: Accepted publickey for deploy from {ipv4} port {port} ssh2",
    "{~date} {~time} WARN api: rate limit exceeded client={ipv4}:{port} user={email}",
    "{~date} {~time} DEBUG net: listening on [{ipv6}]:{port}",
    "{~date} {~time} INFO dhcp: lease {ipv4} to {~mac} ({w:host})",
    "{~date} {~time} ERROR payment: card={card} status=declined code={~hex}",
    "{~date} {~time} INFO agent {~version} starting on {w:host}",
    "{~date} {~time} INFO agent {w:version_ctx} {~version_word} ready",
    "{ipv4} - - [10/Oct/2023:13:55:36 -0700] \"GET /api/v2/orders/{~id10} HTTP/1.1\" 200 {port}",
    "{~date} {~time} INFO ndp: neighbor {ipv6_zone} reachable",
    "{~date} {~time} TRACE req_id={~uuid} took {port}ms",
    "{~date} {~time} INFO snmp: oid {~oid} value 42",
    "{~date} {~time} WARN conn from [{ipv6}]:{port} reset",
    "{~date} {~time} INFO upstream http://{ipv4}:{port}/health ok",
    "{~date} {~time} INFO upstream http://[{ipv6}]:{port}/health ok",
    "{~date} {~time} ERROR panic at src/main.rs:{port}: called `{~code}` on None",
    "{~date} {~time} INFO user {email} logged in from {ipv6}",
    "{~date} {~time} INFO sms sent to {phone_intl} ok",
    "{~date} {~time} DEBUG kv: session={~uuid} ts={~timestamp}",
    "{~date} {~time} INFO route add {ipv4}/24 via {ipv4}",
    "{~date} {~time} INFO build {~version} deployed, see section {~section} of the runbook",
    "{~date} {~time} WARN aspect ratio {~ratio} unsupported",
    "caller_id={phone_us} dur={port}s ts={~timestamp}",
    "{~date} {~time} INFO resolver {ipv6} answered for {w:host}",
]

EMAIL_BODY = [
    "Could you update my direct deposit? New IBAN: {iban}.",
    "My cell is {phone} if anything is unclear.",
    "You can reach me at {phone_any} or {email}.",
    "I paid with my Visa {card} but was charged twice on {~date}.",
    "For the tax form my {w:ssn_ctx} {ssn_any}.",
    "The meeting is on {~date} at {~time}, room 4.2.",
    "Attached is invoice {~order} for {~price}.",
    "Please cc {email} on the reply.",
    "The server at {ipv4} has been down since {~time}.",
    "Our office number changed to {phone_trunk}.",
    "Ref. our call today — my number is {phone_intl}.",
    "My order {~id10} still hasn't arrived, tracking says {~tracking}.",
    "Please use the card {card} for the renewal, expiring 11/26.",
    "We upgraded everyone to {w:version_ctx} {~version_word} last week.",
    "Wire it to {iban} please, BIC {~bic}.",
    "Your confirmation number is {~id9}.",
    "See section {~section} of the contract.",
]
SIGNATURE = [
    "{first} {last}\nTel: {phone}\n{email}",
    "{first}\nMobile: {phone_any}",
    "Best,\n{first} {last} | {phone_intl}",
    "Sent from my iPhone",
    "{first} {last}\nOffice {phone_trunk} · Fax {phone}",
    "Thanks!\n{first}",
]

SLOT = re.compile(r"\{(~?)([a-z_0-9]+)(?::([a-z_0-9]+))?\}")


def fill(template, r, pieces):
    """Appends (text, tag) pieces for a template; tag is None, ("pos", label,
    form) or ("neg", kind)."""
    pos = 0
    for m in SLOT.finditer(template):
        if m.start() > pos:
            pieces.append((template[pos:m.start()], None))
        neg, slot, arg = m.group(1), m.group(2), m.group(3)
        if slot == "w":
            pieces.append((r.choice(WORDS[arg]), None))
        elif neg:
            text, kind = NEG[slot](r)
            pieces.append((text, ("neg", kind)))
        elif slot in POS:
            text, form = POS[slot](r)
            pieces.append((text, ("pos", POS_LABEL[slot], form)))
        elif slot == "name":
            pieces.append((name(r), None))
        elif slot == "first":
            pieces.append((r.choice(FIRST), None))
        elif slot == "last":
            pieces.append((r.choice(LAST), None))
        elif slot == "last4":
            pieces.append((f"{r.randint(0, 9999):04d}", None))
        elif slot == "pid":
            pieces.append((str(r.randint(100, 65000)), None))
        elif slot == "port":
            pieces.append((str(r.choice([22, 80, 443, 8080, 8443, 5432, r.randint(1024, 65535)])), None))
        else:
            raise KeyError(slot)
        pos = m.end()
    pieces.append((template[pos:], None))


def record(r):
    style = r.random()
    pieces = []
    if style < 0.28:
        for i, t in enumerate(r.sample(CLINIC, r.randint(1, 4))):
            fill(("" if i == 0 else " ") + t, r, pieces)
    elif style < 0.56:
        for i, t in enumerate(r.sample(TICKET, r.randint(1, 3))):
            fill(("" if i == 0 else " ") + t, r, pieces)
    elif style < 0.8:
        for i, t in enumerate(r.sample(LOGS, r.randint(1, 3))):
            fill(("" if i == 0 else "\n") + t, r, pieces)
    else:
        fill(f"Hi {r.choice(FIRST)},\n\n", r, pieces)
        for i, t in enumerate(r.sample(EMAIL_BODY, r.randint(1, 3))):
            fill(("" if i == 0 else " ") + t, r, pieces)
        fill("\n\n" + r.choice(SIGNATURE), r, pieces)
    return pieces


def assemble(pieces, rid):
    text, spans, byte_spans, decoys = "", [], [], []
    for piece, tag in pieces:
        start, bstart = len(text), len(text.encode("utf-8"))
        text += piece
        end, bend = len(text), len(text.encode("utf-8"))
        if tag and tag[0] == "pos":
            spans.append({"start": start, "end": end, "label": tag[1], "form": tag[2]})
            byte_spans.append({"start": bstart, "end": bend, "label": tag[1], "form": tag[2]})
        elif tag:
            decoys.append({"start": start, "end": end, "byte_start": bstart,
                           "byte_end": bend, "kind": tag[1]})
    return {"id": rid, "text": text, "spans": spans, "byte_spans": byte_spans, "decoys": decoys}


def generate(n, seed):
    r = random.Random(seed)
    return [assemble(record(r), i) for i in range(n)]


def dumps(records):
    return "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in records)


def stats(records):
    from collections import Counter
    labels, forms, kinds = Counter(), Counter(), Counter()
    for x in records:
        for s in x["spans"]:
            labels[s["label"]] += 1
            forms[s["form"]] += 1
        for d in x["decoys"]:
            kinds[d["kind"]] += 1
    return labels, forms, kinds


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=DEFAULT_RECORDS)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true", help="exit 1 if --out is not what this writes")
    ap.add_argument("--stats", action="store_true", help="print counts per label, form and look-alike kind")
    args = ap.parse_args()
    records = generate(args.records, args.seed)
    data = dumps(records)
    if args.check:
        with open(args.out, encoding="utf-8") as f:
            if f.read() != data:
                print(f"{args.out} is stale: run {sys.argv[0]}", file=sys.stderr)
                return 1
        return 0
    labels, forms, kinds = stats(records)
    if args.stats:
        print("labels:", dict(sorted(labels.items())))
        print("forms:", dict(sorted(forms.items())))
        print("look-alikes:", dict(sorted(kinds.items())), "total", sum(kinds.values()))
        return 0
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(data)
    print(f"{len(records)} records, {sum(labels.values())} gold spans, {sum(kinds.values())} look-alikes: "
          + ", ".join(f"{k} {v}" for k, v in sorted(labels.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
