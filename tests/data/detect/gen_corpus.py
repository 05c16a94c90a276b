#!/usr/bin/env python3
"""Generate the labelled free-text PII corpus for the built-in detectors.

    python3 tests/data/detect/gen_corpus.py [--lines N] [--seed S] [--out PATH]

Writes ``tests/data/detect/corpus.jsonl`` (next to this script) by default.
Deterministic: a fixed seed and the standard library only, so the same
command always writes the same bytes (``--check`` verifies that the file on
disk is what this script would write, without touching it).

Each line is one JSON object:

    {"id": 17,
     "text": "...",
     "spans":      [{"start": 12, "end": 31, "label": "email"}, ...],
     "byte_spans": [{"start": 14, "end": 33, "label": "email"}, ...],
     "decoys":     [{"start": 40, "end": 50, "byte_start": 44, "byte_end": 54,
                     "kind": "date"}, ...]}

* ``spans`` use character offsets into the Python ``str`` (code points);
  ``byte_spans`` are the same spans as UTF-8 byte offsets (what Rust's
  ``&str`` slicing uses).  Both are half-open ``[start, end)``.
* ``decoys`` are the hard negatives planted in the line: text that looks like
  PII but is none of the seven labels.  They are not gold spans; they only let
  a scorer say *which kind* of negative a false positive hit.
* Labels: email, phone, ssn, credit_card, iban, ipv4, ipv6.

See README.md in this folder for what exactly counts as each label.
"""

import argparse
import ipaddress
import json
import os
import random
import sys
import unicodedata
import uuid

SEED = 20241126
DEFAULT_LINES = 2000
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "corpus.jsonl")

LABELS = ["email", "phone", "ssn", "credit_card", "iban", "ipv4", "ipv6"]

# --------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------

FIRST = [
    "Alice", "Bob", "Carol", "David", "Emma", "Frank", "Grace", "Hiro", "Ivan",
    "Julia", "Kevin", "Laura", "Marcus", "Nina", "Oscar", "Priya", "Quentin",
    "Rosa", "Sam", "Tara", "Umar", "Vera", "Will", "Yusuf", "Zara",
    # non-ASCII, so that byte and character offsets differ
    "Zoë", "José", "François", "Søren", "Łukasz", "Chloé", "Björn", "Renée",
    "Åsa", "Jürgen", "Ngọc", "Đorđe", "Ines", "Mónica", "Çağrı", "Olúwaseun",
    "Anaïs", "Mikuláš",
]
LAST = [
    "Smith", "Jones", "Taylor", "Brown", "Nguyen", "Garcia", "Patel", "Kim",
    "Okafor", "Rossi", "Novak", "Schmidt", "Dubois", "Silva", "Cohen",
    "Müller", "Peña", "Ström", "Kowalczyk", "Gonçalves", "Ødegaard", "Núñez",
    "Çelik", "Dvořák", "Łęcki", "Yamamoto", "O'Brien",
]
CJK_NAMES = ["李伟", "王芳", "田中", "김민준", "佐藤"]
COMPANIES = [
    "Acme Corp", "Globex", "Initech", "Umbrella GmbH", "Contoso", "Hooli",
    "Stark Logistics", "Wayne Retail", "Café Noir", "Müller & Söhne",
    "Nordlys AS", "Pâtisserie Étoile", "Zürich Reisen",
]
PRODUCTS = [
    "the Pro plan", "the mobile app", "the billing portal", "the API",
    "the desktop client", "the router", "SSO", "the export job",
    "the weekly report", "two-factor login", "the Team plan",
]
EMOJI = ["🙂", "😀", "🙏", "🚀", "✅", "❗", "👍", "😅", "🔥", "📞", "💳", "🎉"]
EMAIL_DOMAINS = [
    "example.com", "example.org", "example.net", "acme-corp.com", "globex.io",
    "initech.dev", "mail.example.co.uk", "contoso.onmicrosoft.com",
    "umbrella.de", "posteo.de", "fastmail.fm", "company.com.au",
    "student.ucl.ac.uk", "hooli.xyz", "cafe-noir.fr", "nordlys.no",
]
EMAIL_TAGS = ["billing", "news", "work", "shop", "2024", "support"]

# Real NANP area codes (no 555 exchanges below: those are mostly
# unassigned/fictional and phone libraries reject them).
NANP_AREAS = [
    "212", "213", "206", "303", "305", "312", "347", "404", "415", "469",
    "503", "512", "602", "617", "646", "702", "713", "718", "773", "818",
    "917", "416", "604", "514",
]


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def ascii_fold(s):
    """'Zoë' -> 'Zoe', 'Łukasz' -> 'Lukasz' (for e-mail local parts)."""
    s = s.replace("Ł", "L").replace("ł", "l").replace("Ø", "O").replace("ø", "o")
    s = s.replace("Đ", "D").replace("đ", "d").replace("'", "")
    s = unicodedata.normalize("NFKD", s)
    return "".join(c for c in s if c.isascii() and (c.isalnum() or c in "._-"))


def luhn_check_digit(payload):
    """Check digit that makes payload + digit Luhn-valid."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:  # these get doubled once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(number):
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_mod97(iban):
    s = iban[4:] + iban[:4]
    digits = "".join(str(int(c, 36)) for c in s)
    return int(digits) % 97


def iban_check_digits(country, bban):
    n = iban_mod97(country + "00" + bban)
    return "%02d" % (98 - n)


def group4(s, sep=" "):
    return sep.join(s[i:i + 4] for i in range(0, len(s), 4))


# --------------------------------------------------------------------------
# PII generators (each returns the exact text of one gold span)
# --------------------------------------------------------------------------

class Gen:
    def __init__(self, rng):
        self.r = rng

    def digits(self, n):
        return "".join(self.r.choice("0123456789") for _ in range(n))

    def name(self):
        r = self.r
        if r.random() < 0.04:
            return r.choice(CJK_NAMES)
        return r.choice(FIRST) + (" " + r.choice(LAST) if r.random() < 0.5 else "")

    def first(self):
        return self.r.choice(FIRST)

    # -- email --------------------------------------------------------------
    def email(self):
        r = self.r
        f = ascii_fold(r.choice(FIRST)).lower()
        l = ascii_fold(r.choice(LAST)).lower()
        form = r.randrange(7)
        if form == 0:
            local = f"{f}.{l}"
        elif form == 1:
            local = f"{f[0]}{l}"
        elif form == 2:
            local = f"{f}_{l}{r.randint(1, 99)}"
        elif form == 3:
            local = f"{f}+{r.choice(EMAIL_TAGS)}"
        elif form == 4:
            local = f"{l}.{f[0]}{r.randint(70, 99)}"
        elif form == 5:
            local = r.choice(["support", "billing", "noreply", "info", "it-helpdesk", "sales"])
        else:
            local = f"{f}"
        addr = f"{local}@{r.choice(EMAIL_DOMAINS)}"
        if r.random() < 0.05:
            addr = addr[0].upper() + addr[1:]
        return addr

    # -- phone --------------------------------------------------------------
    def nanp_parts(self):
        r = self.r
        area = r.choice(NANP_AREAS)
        while True:
            ex = str(r.randint(2, 9)) + self.digits(2)
            if ex[1:] != "11" and ex != "555":
                break
        line = self.digits(4)
        return area, ex, line

    def phone(self):
        r = self.r
        k = r.random()
        if k < 0.45:
            a, e, l = self.nanp_parts()
            form = r.randrange(4)
            if form == 0:
                return f"({a}) {e}-{l}"
            if form == 1:
                return f"{a}-{e}-{l}"
            if form == 2:
                return f"{a}.{e}.{l}"
            return f"+1 {a} {e} {l}"
        # international, +CC followed by space-separated groups
        d = self.digits
        choices = [
            lambda: f"+44 20 {r.choice('378')}{d(3)} {d(4)}",          # London
            lambda: f"+44 161 {r.randint(2, 9)}{d(2)} {d(4)}",          # Manchester
            lambda: f"+44 7{r.choice([r.randint(400, 599), r.randint(701, 999)])} {d(6)}",               # UK mobile
            lambda: f"+49 30 {r.randint(2, 9)}{d(7)}",                  # Berlin
            lambda: f"+49 89 {r.randint(2, 9)}{d(3)} {d(4)}",           # Munich
            lambda: f"+49 151 {r.randint(2, 9)}{d(7)}",                 # DE mobile
            lambda: f"+33 1 {r.randint(40, 59)} {d(2)} {d(2)} {d(2)}",  # Paris
            lambda: f"+33 6 {r.choice([r.randint(10, 38), r.randint(40, 89)])} {d(2)} {d(2)} {d(2)}",  # FR mobile
            lambda: f"+34 91 {r.randint(2, 9)}{d(2)} {d(2)} {d(2)}",    # Madrid
            lambda: f"+31 20 {r.randint(2, 8)}{d(2)} {d(4)}",           # Amsterdam
            lambda: f"+61 2 {r.randint(8, 9)}{d(3)} {d(4)}",            # Sydney
            lambda: f"+61 4{r.randint(0, 3)}{d(1)} {d(3)} {d(3)}",                       # AU mobile
            lambda: f"+91 98{d(3)} {d(5)}",                             # IN mobile
            lambda: f"+353 1 {r.randint(2, 9)}{d(2)} {d(4)}",           # Dublin
            lambda: f"+81 3 {r.randint(3, 6)}{d(3)} {d(4)}",            # Tokyo
            lambda: f"+55 11 9{r.randint(6, 9)}{d(3)} {d(4)}",          # São Paulo mobile
            lambda: f"+46 8 {d(3)} {d(3)} {d(2)}",                      # Stockholm
        ]
        return r.choice(choices)()

    # -- ssn ----------------------------------------------------------------
    def ssn(self):
        r = self.r
        while True:
            area = r.randint(1, 899)
            if area == 666:
                continue
            group = r.randint(1, 99)
            serial = r.randint(1, 9999)
            s = f"{area:03d}-{group:02d}-{serial:04d}"
            digits = s.replace("-", "")
            # skip all-same-digit and the published sample numbers
            if len(set(digits)) == 1 or digits in ("123456789", "078051120", "219099999"):
                continue
            return s

    # -- credit card --------------------------------------------------------
    CARD_PREFIXES = [
        # (prefix generator, length, weight)
        (lambda r: "4", 16, 30),                                   # Visa
        (lambda r: "4", 13, 2),                                    # old Visa
        (lambda r: "4", 19, 2),                                    # Visa 19
        (lambda r: str(r.randint(51, 55)), 16, 22),                # Mastercard
        (lambda r: str(r.randint(2221, 2720)), 16, 6),             # Mastercard 2-series
        (lambda r: r.choice(["34", "37"]), 15, 10),                # Amex
        (lambda r: r.choice(["6011", "65"]), 16, 8),               # Discover
        (lambda r: str(r.randint(3528, 3589)), 16, 5),             # JCB
        (lambda r: r.choice(["36", "38"]), 14, 3),                 # Diners
        (lambda r: "62", 19, 2),                                   # UnionPay 19
    ]

    def card_digits(self, valid=True):
        r = self.r
        weights = [w for _, _, w in self.CARD_PREFIXES]
        pfx_fn, length, _ = r.choices(self.CARD_PREFIXES, weights=weights)[0]
        pfx = pfx_fn(r)
        body = pfx + self.digits(length - len(pfx) - 1)
        check = luhn_check_digit(body)
        if not valid:
            check = str((int(check) + r.randint(1, 9)) % 10)
        number = body + check
        assert luhn_valid(number) == valid
        return number

    def format_card(self, number):
        r = self.r
        k = r.random()
        if len(number) == 16 and k < 0.40:
            return group4(number, " ")
        if len(number) == 16 and k < 0.60:
            return group4(number, "-")
        return number

    def credit_card(self):
        return self.format_card(self.card_digits(True))

    # -- iban ---------------------------------------------------------------
    def bban(self, country):
        r = self.r
        d = self.digits
        up = lambda n: "".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(n))
        alnum = lambda n: "".join(
            r.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") if r.random() < 0.15 else r.choice("0123456789")
            for _ in range(n))
        return {
            "DE": lambda: d(18),
            "GB": lambda: r.choice(["NWBK", "BARC", "HBUK", "LOYD", "MIDL"]) + d(14),
            "FR": lambda: d(10) + alnum(11) + d(2),
            "ES": lambda: d(20),
            "NL": lambda: r.choice(["ABNA", "INGB", "RABO", "TRIO"]) + d(10),
            "IT": lambda: up(1) + d(10) + alnum(12),
            "BE": lambda: d(12),
            "CH": lambda: d(5) + alnum(12),
            "AT": lambda: d(16),
            "PL": lambda: d(24),
            "IE": lambda: r.choice(["AIBK", "BOFI", "IPBS"]) + d(14),
            "NO": lambda: d(11),
            "SE": lambda: d(20),
            "DK": lambda: d(14),
        }[country]()

    IBAN_COUNTRIES = ["DE", "GB", "FR", "ES", "NL", "IT", "BE", "CH", "AT",
                      "PL", "IE", "NO", "SE", "DK"]

    def iban_compact(self, valid=True):
        r = self.r
        c = r.choice(self.IBAN_COUNTRIES)
        bban = self.bban(c)
        ck = iban_check_digits(c, bban)
        if not valid:
            while True:
                bad = "%02d" % r.randint(2, 98)
                if bad != ck:
                    ck = bad
                    break
        iban = c + ck + bban
        assert (iban_mod97(iban) == 1) == valid
        return iban

    def iban(self):
        s = self.iban_compact(True)
        return group4(s, " ") if self.r.random() < 0.5 else s

    # -- ip -----------------------------------------------------------------
    def ipv4(self):
        r = self.r
        k = r.randrange(6)
        if k == 0:
            return f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
        if k == 1:
            return f"192.168.{r.randint(0, 255)}.{r.randint(1, 254)}"
        if k == 2:
            return f"172.{r.randint(16, 31)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
        if k == 3:
            return f"{r.choice(['203.0.113', '198.51.100', '192.0.2'])}.{r.randint(1, 254)}"
        while True:
            a = r.randint(1, 223)
            if a not in (10, 127, 172, 192):
                break
        return f"{a}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"

    def ipv6(self):
        r = self.r
        k = r.randrange(6)
        if k == 0:  # full, 8 groups of 4 with leading zeros kept
            first = "%04x" % (0x2000 | r.getrandbits(12))
            return ":".join([first] + ["%04x" % r.getrandbits(16) for _ in range(7)])
        if k == 1:  # documentation prefix, compressed
            host = r.getrandbits(16)
            rest = ipaddress.IPv6Address((0x20010DB8 << 96) | (r.getrandbits(16) << 80) | host)
            return rest.compressed
        if k == 2:  # link-local
            iid = r.getrandbits(64)
            return ipaddress.IPv6Address((0xFE80 << 112) | iid).compressed
        if k == 3:  # IPv4-mapped
            return "::ffff:" + self.ipv4()
        # global unicast, random, compressed (may or may not contain '::')
        hi = (0x2000 | r.getrandbits(12)) << 112
        addr = ipaddress.IPv6Address(hi | (r.getrandbits(48) << 64) | (r.getrandbits(16) if r.random() < 0.5 else r.getrandbits(64)))
        s = addr.compressed
        return s.upper() if r.random() < 0.1 else s

    def item(self, label):
        return getattr(self, label)()

    # -- decoys (hard negatives) ---------------------------------------------
    def decoy(self, kind):
        r = self.r
        d = self.digits
        if kind == "luhn_invalid_card":
            num = self.card_digits(False)
            while len(num) != 16:
                num = self.card_digits(False)
            k = r.random()
            return group4(num, " ") if k < 0.4 else (group4(num, "-") if k < 0.6 else num)
        if kind == "invalid_ssn":
            k = r.randrange(5)
            area, group, serial = r.randint(1, 899), r.randint(1, 99), r.randint(1, 9999)
            if area == 666:
                area = 667
            if k == 0:
                area = 0
            elif k == 1:
                area = 666
            elif k == 2:
                area = r.randint(900, 999)
            elif k == 3:
                group = 0
            else:
                serial = 0
            return f"{area:03d}-{group:02d}-{serial:04d}"
        if kind == "bad_iban":
            s = self.iban_compact(False)
            return group4(s, " ") if r.random() < 0.5 else s
        if kind == "version":
            return r.choice([
                lambda: f"v{r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 30)}",
                lambda: f"{r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 30)}",
                lambda: f"10.0.{r.randint(17000, 26999)}",
                lambda: f"10.0.{r.randint(17000, 26999)}.{r.randint(256, 5000)}",
                lambda: f"{r.randint(1, 9)}.{r.randint(0, 9)}.{r.randint(0, 9)}-beta.{r.randint(1, 5)}",
                lambda: f"{r.randint(1, 3)}.{r.randint(0, 99)}.{r.randint(300, 9999)}",
            ])()
        if kind == "date":
            y, m, dd = r.randint(2019, 2026), r.randint(1, 12), r.randint(1, 28)
            return r.choice([f"{y}-{m:02d}-{dd:02d}", f"{dd:02d}/{m:02d}/{y}",
                             f"{m:02d}/{dd:02d}/{y}", f"{dd:02d}.{m:02d}.{y}"])
        if kind == "time":
            return r.choice([f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}",
                             f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}",
                             f"{r.randint(1, 12)}:{r.randint(0, 59):02d} pm"])
        if kind == "order":
            return r.choice([f"#{r.randint(1000, 99999)}", f"{r.randint(1000000, 9999999)}",
                             f"INV-{r.randint(2019, 2026)}-{d(5)}", f"PO-{d(6)}"])
        if kind == "price":
            return r.choice([f"${r.randint(1, 9)},{d(3)}.{d(2)}", f"${r.randint(5, 999)}.{d(2)}",
                             f"€{r.randint(5, 999)},{d(2)}", f"£{r.randint(1, 9)},{d(3)}.00"])
        if kind == "zip":
            return r.choice([f"{r.randint(10000, 99999)}",
                             f"{r.randint(10000, 99999)}-{d(4)}",
                             r.choice(["SW1A 1AA", "EC1A 1BB", "M1 1AE", "D02 X285"])])
        if kind == "short_digits":
            return d(r.randint(1, 6))
        if kind == "hex":
            return "0x" + "".join(r.choice("0123456789ABCDEF") for _ in range(8))
        if kind == "uuid":
            u = str(uuid.UUID(int=r.getrandbits(128), version=4))
            return u.upper() if r.random() < 0.2 else u
        if kind == "percent":
            return r.choice([f"{r.randint(1, 99)}%", f"{r.randint(1, 99)}.{r.randint(0, 9)}%"])
        if kind == "id9":
            return str(r.randint(100000000, 999999999))
        if kind == "mac":
            sep = r.choice([":", "-"])
            return sep.join("%02X" % r.getrandbits(8) for _ in range(6))
        raise ValueError(kind)


# --------------------------------------------------------------------------
# Sentence templates.  "X" marks the slot (exactly one per template);
# {name}, {first}, {company}, {product}, {emoji} are filled in first.
# --------------------------------------------------------------------------

PII_TEMPLATES = {
    "email": [
        "Customer email is X.",
        "Please reply to X when this is resolved.",
        "{name} asked us to use X instead of the old address.",
        "CC: X",
        "Send the invoice to X — they confirmed it twice.",
        "Contact {name} <X> about the renewal.",
        "New login email: X",
        "my email is X {emoji}",
        "Forwarded from X, see below.",
        "{first} wrote (X): “the export still fails”.",
        "Reset link went to X but never arrived.",
        "Can you update the billing contact to X?",
    ],
    "phone": [
        "Call back on X after 3pm.",
        "{name}'s mobile is X.",
        "Reach me at X (work).",
        "Phone: X",
        "Tried X twice, no answer.",
        "best number is X {emoji}",
        "{first} left a voicemail from X about {product}.",
        "Please text X when the technician is on the way.",
        "Alt. contact — X, ask for {first}.",
        "The number on the account, X, is outdated.",
    ],
    "ssn": [
        "SSN on file: X.",
        "Customer read out their social security number X over the phone — please redact.",
        "{name} (SSN X) needs a W-9 correction.",
        "Verified identity with SSN X.",
        "ssn is X, dob on the form",
        "Tax form lists X as the SSN for {name}.",
        "Please remove X from the ticket history.",
    ],
    "credit_card": [
        "Card used: X, exp 09/27.",
        "Please refund to card X.",
        "{name} paid with X and the charge failed.",
        "cc number X {emoji}",
        "Charge X for {product} once the trial ends.",
        "The customer pasted their card (X) into chat.",
        "Card on file X was declined by the issuer.",
    ],
    "iban": [
        "Wire the refund to IBAN X.",
        "Bank details: X ({company}).",
        "{name} updated the payout account to X.",
        "IBAN: X",
        "Please send the deposit to X by Friday.",
        "SEPA mandate signed for X.",
        "Refund failed, account X is closed — ask {first} for a new one.",
    ],
    "ipv4": [
        "Login attempt from X was blocked.",
        "Server X is timing out.",
        "Whitelisted X:8443 for the API.",
        "{first}'s router shows X as the gateway.",
        "Requests from X hit the rate limit.",
        "ping X works but {product} does not load",
        "Audit log: {name} signed in from X.",
        "Set the DNS server to X and retry.",
    ],
    "ipv6": [
        "Traffic came from X.",
        "Assigned address X to the VPN client.",
        "Could not reach [X]:443 from the office.",
        "Audit log: {name} signed in from X.",
        "The firewall blocked X after 20 failed logins.",
        "Her laptop reports X on en0.",
        "Allow-list X for {product}.",
    ],
}

DECOY_TEMPLATES = {
    "luhn_invalid_card": [
        "The card number X was rejected as invalid.",
        "Tracking number X, carrier says delivered.",
        "Reference X on the bank statement.",
        "Gift card code X does not work.",
    ],
    "invalid_ssn": [
        "Form shows SSN X, which looks made up.",
        "Test record uses X as a placeholder.",
        "The SSN field has X — validation should have caught it.",
    ],
    "bad_iban": [
        "The IBAN X fails the checksum, please double-check.",
        "Customer typed X but the bank rejected it.",
        "IBAN X is invalid (typo in the check digits?).",
    ],
    "version": [
        "Running version X of {product}.",
        "Upgraded to X yesterday.",
        "The bug is fixed in X.",
        "Windows build X, latest updates installed.",
    ],
    "date": [
        "Renewal is due on X.",
        "Last login: X.",
        "Invoice dated X.",
        "Shipped X, still not here.",
    ],
    "time": [
        "Outage started at X.",
        "Meeting moved to X.",
        "Logs stop at X.",
    ],
    "order": [
        "Regarding order X.",
        "Order X arrived damaged.",
        "See invoice X.",
        "Ticket X was merged into this one.",
    ],
    "price": [
        "They were charged X twice.",
        "Refund amount: X.",
        "Quote for {company} came to X.",
    ],
    "zip": [
        "Shipping ZIP is X.",
        "Moved to postcode X.",
        "Billing ZIP X does not match.",
    ],
    "short_digits": [
        "Only X seats are in use.",
        "Error code X on startup.",
        "Room X, second floor.",
        "ext. X",
    ],
    "hex": [
        "Installer fails with X.",
        "Crash dump shows X.",
        "Error X when syncing.",
    ],
    "uuid": [
        "Request id X.",
        "Workspace X cannot be deleted.",
        "Trace X in the logs.",
    ],
    "percent": [
        "CPU sits at X all day.",
        "Discount of X was not applied.",
        "Uptime this month: X.",
    ],
    "id9": [
        "Customer ID X.",
        "Account no. X in the old system.",
        "Shipment X is delayed.",
    ],
    "mac": [
        "Device MAC is X.",
        "Router X keeps dropping.",
        "Blocked MAC X on the guest network.",
    ],
}
DECOY_KINDS = list(DECOY_TEMPLATES)

FILLERS = [
    "Thanks for your patience.",
    "Customer is frustrated about the delay.",
    "{name} from {company} called about {product}.",
    "Escalating to tier 2.",
    "Issue reproduced on staging.",
    "Closing as duplicate.",
    "They want a callback tomorrow morning.",
    "No response yet, following up.",
    "{first} says {product} crashes on launch.",
    "Marked as resolved after the hotfix.",
    "Customer prefers email over phone.",
    "Billing dispute, see notes above.",
    "Please keep {first} in the loop.",
    "{company} is evaluating {product}.",
    "The renewal discount was approved by {first}.",
    "hi! quick question about {product} {emoji}",
    "ok thanks {emoji}",
    "sorry for the late reply, was travelling",
    "It works now — thank you so much! {emoji}",
    "Café opened a ticket in French; translated below.",
    "Zoë from Zürich asked for a naïve explanation of the pricing.",
    "Spoke with {name}; they'll confirm by Friday.",
    "Not urgent.",
    "Can we get an ETA?",
    "{first} mentioned a competitor’s offer.",
    "Logged out and back in, same error.",
    "Sent the how-to article on {product}.",
]

CHANNELS = ["ticket", "crm", "chat"]


def fill(tpl, g):
    r = g.r
    return (tpl.replace("{name}", g.name())
               .replace("{first}", g.first())
               .replace("{company}", r.choice(COMPANIES))
               .replace("{product}", r.choice(PRODUCTS))
               .replace("{emoji}", r.choice(EMOJI)))


class LineBuilder:
    def __init__(self):
        self.parts = []
        self.n = 0          # length in characters so far
        self.spans = []     # (start, end, label)
        self.decoys = []    # (start, end, kind)

    def add(self, s):
        self.parts.append(s)
        self.n += len(s)

    def add_marked(self, s, tag, into):
        start = self.n
        self.add(s)
        into.append((start, self.n, tag))

    def text(self):
        return "".join(self.parts)


def add_templated(lb, g, tpl, value, tag, into):
    tpl = fill(tpl, g)
    assert tpl.count("X") >= 1
    # the slot is the one standalone X (templates contain no other capital X)
    i = tpl.index("X")
    lb.add(tpl[:i])
    lb.add_marked(value, tag, into)
    lb.add(tpl[i + 1:])


def make_line(g):
    r = g.r
    channel = r.choice(CHANNELS)
    k = r.random()
    n_pii = 0 if k < 0.40 else (1 if k < 0.78 else 2)
    if n_pii == 0:
        n_decoy = r.choices([0, 1, 2], weights=[30, 50, 20])[0]
    else:
        n_decoy = r.choices([0, 1, 2], weights=[60, 32, 8])[0]
    n_fill = r.choices([0, 1, 2], weights=[35, 45, 20])[0]
    if n_pii == 0 and n_decoy == 0 and n_fill == 0:
        n_fill = 1

    label_weights = {"email": 12, "phone": 12, "ssn": 9, "credit_card": 10,
                     "iban": 9, "ipv4": 10, "ipv6": 8}
    items = []
    for _ in range(n_pii):
        lab = r.choices(list(label_weights), weights=list(label_weights.values()))[0]
        items.append(("pii", lab))
    for _ in range(n_decoy):
        items.append(("decoy", r.choice(DECOY_KINDS)))
    for _ in range(n_fill):
        items.append(("fill", None))
    r.shuffle(items)

    lb = LineBuilder()
    # channel prefix
    if channel == "ticket":
        if r.random() < 0.5:
            lb.add("Ticket ")
            lb.add_marked(f"#{r.randint(10000, 99999)}", "order", lb.decoys)
            lb.add(": ")
    elif channel == "crm":
        if r.random() < 0.5:
            lb.add("Note (")
            lb.add_marked(g.decoy("date"), "date", lb.decoys)
            lb.add(", " + g.name() + "): ")
        else:
            lb.add("CRM — " + g.name() + ": ")
    else:
        lb.add(g.first() + r.choice([": ", " → ", " says: "]))

    for n, (kind, what) in enumerate(items):
        if n:
            lb.add(" ")
        if kind == "pii":
            tpl = r.choice(PII_TEMPLATES[what])
            add_templated(lb, g, tpl, g.item(what), what, lb.spans)
        elif kind == "decoy":
            tpl = r.choice(DECOY_TEMPLATES[what])
            add_templated(lb, g, tpl, g.decoy(what), what, lb.decoys)
        else:
            lb.add(fill(r.choice(FILLERS), g))
    return lb


def byte_offset_table(text):
    """char index -> byte index, for every index 0..len(text)."""
    table = [0] * (len(text) + 1)
    b = 0
    for i, ch in enumerate(text):
        table[i] = b
        b += len(ch.encode("utf-8"))
    table[len(text)] = b
    return table


def generate(n_lines, seed):
    rng = random.Random(seed)
    g = Gen(rng)
    seen = set()
    out = []
    while len(out) < n_lines:
        lb = make_line(g)
        text = lb.text()
        if text in seen:
            continue
        seen.add(text)
        bt = byte_offset_table(text)
        spans = sorted(lb.spans)
        decoys = sorted(lb.decoys)
        rec = {
            "id": len(out),
            "text": text,
            "spans": [{"start": s, "end": e, "label": l} for s, e, l in spans],
            "byte_spans": [{"start": bt[s], "end": bt[e], "label": l} for s, e, l in spans],
            "decoys": [{"start": s, "end": e, "byte_start": bt[s], "byte_end": bt[e], "kind": k}
                       for s, e, k in decoys],
        }
        # self-checks
        raw = text.encode("utf-8")
        for cs, bs in zip(rec["spans"], rec["byte_spans"]):
            assert raw[bs["start"]:bs["end"]].decode("utf-8") == text[cs["start"]:cs["end"]]
        assert "\n" not in text
        out.append(rec)
    return out


def dumps(records):
    return "".join(json.dumps(r, ensure_ascii=False, separators=(", ", ": ")) + "\n"
                   for r in records)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=DEFAULT_LINES)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true",
                    help="exit 1 if --out differs from what would be generated")
    args = ap.parse_args()

    records = generate(args.lines, args.seed)
    data = dumps(records).encode("utf-8")
    if args.check:
        try:
            with open(args.out, "rb") as f:
                same = f.read() == data
        except FileNotFoundError:
            same = False
        print(f"{args.out}: {'up to date' if same else 'DIFFERS'}")
        sys.exit(0 if same else 1)
    with open(args.out, "wb") as f:
        f.write(data)

    counts = {l: 0 for l in LABELS}
    dk = {}
    no_pii = 0
    non_ascii = 0
    for r in records:
        if not r["spans"]:
            no_pii += 1
        if any(ord(c) > 127 for c in r["text"]):
            non_ascii += 1
        for s in r["spans"]:
            counts[s["label"]] += 1
        for d in r["decoys"]:
            dk[d["kind"]] = dk.get(d["kind"], 0) + 1
    print(f"wrote {args.out}: {len(records)} lines, {len(data)} bytes; "
          f"{no_pii} without PII, {non_ascii} with non-ASCII text")
    print("spans:  " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    print("decoys: " + ", ".join(f"{k}={v}" for k, v in sorted(dk.items())))


if __name__ == "__main__":
    main()
