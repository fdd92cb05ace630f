"""Names, addresses and numbers a dealer's customers plausibly have (all fictional: 555-01xx
phone numbers, example domains)."""

import random
import unicodedata

# Awkward on purpose: quotes, ampersands, apostrophes, accents, markup, LIKE wildcards and
# brackets, a backslash, non-Latin script, and a name of exactly 50 characters.
SPECIAL_NAMES = (
    'O"Brien & Sons',
    "L'Atelier Print Studio",
    "Café Müller GmbH",
    "<script>alert(1)</script> Ltd",
    "Fox & Tern O'Brien",
    "Zoë's Bäckerei & Café",
    "100% Copy Co. [Main]",
    "Back\\Slash Imaging",
    "Ñandú Logistics S.A.",
    "Ōkami Trading 株式会社",
    "Greater Tampa Bay Regional Dental & Orthodontic PA",
)

SURNAMES = (
    "Harper", "Cole", "Bennett", "Alvarez", "Nguyen", "Patel", "Okafor", "Schmidt", "Rossi",
    "Kowalski", "Duarte", "Whitfield", "Castillo", "Morales", "Fischer", "Lindqvist", "Brennan",
    "Delgado", "Hayes", "Ibarra", "Jensen", "Kaplan", "Lowell", "Mercer", "Navarro", "Ortega",
    "Prescott", "Quinn", "Ramirez", "Sutton", "Thornton", "Underwood", "Vance", "Walsh", "Young",
    "Zimmerman", "Abbott", "Barlow", "Chandler", "Dawson", "Ellison", "Foster", "Garrison",
    "Holloway", "Irving", "Jordan", "Keller", "Lambert", "Maddox", "Norris", "O'Neil",
    "D'Angelo", "Muñoz", "Peña", "Gómez", "Sørensen", "Park", "Chen", "Kim", "Singh",
)  # fmt: skip
PLACES = (
    "Bayshore", "Gulf Coast", "Suncoast", "Palmetto", "Seminole", "Hillsborough", "Pinellas",
    "Harbor", "Lakeside", "Riverside", "Citrus", "Coral", "Cypress", "Magnolia", "Osprey",
    "Pelican", "Sandpiper", "Tidewater", "Keystone", "Westshore", "Ybor", "Brandon",
    "Clearwater", "Sarasota", "Manatee", "Largo", "Dunedin", "Lakeland", "Ocala", "Gainesville",
    "Biscayne", "Everglades", "Atlantic", "Panhandle", "Sawgrass", "Heron", "Mangrove", "Orange",
    "Peninsula", "Sunrise",
)  # fmt: skip
TRADES = (
    "Dental", "Orthodontics", "Family Medicine", "Veterinary Clinic", "Law Group",
    "Legal Services", "Accounting", "CPA Group", "Realty", "Title Company", "Insurance Agency",
    "Logistics", "Freight", "Construction", "Roofing", "Plumbing", "HVAC", "Electric",
    "Engineering", "Architects", "Marketing", "Printing", "Auto Group", "Marine",
    "Charter School", "Academy", "Church", "Credit Union", "Pharmacy", "Physical Therapy",
    "Chiropractic", "Pediatrics", "Imaging", "Labs", "Manufacturing", "Supply", "Distributors",
    "Hospitality", "Hotels", "Restaurant Group",
)  # fmt: skip
SUFFIXES = ("", "", "", "Inc", "LLC", "LLP", "P.A.", "Group", "Co.", "Partners", "Associates",
            "Corp", "PLLC")  # fmt: skip
FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Carlos", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Betty", "Mark", "Sandra",
    "Zoë", "José", "Renée", "André", "Chloé", "Siobhán", "Mateo", "Priya", "Wei", "Aisha",
    "Kwame", "Ingrid",
)  # fmt: skip
STREETS = (
    "Main", "Bay", "Oak", "Palm", "Gulf", "Harbor", "Kennedy", "Dale Mabry", "Westshore",
    "Fowler", "Bearss", "Hillsborough", "Busch", "Fletcher", "Gandy", "Bayshore", "Orange",
    "Colonial", "Sand Lake", "Biscayne", "Flagler", "Brickell", "Beach", "San Jose", "Atlantic",
    "Baymeadows", "Ulmerton", "Roosevelt", "Tyrone", "Gulf to Bay",
)  # fmt: skip
STREET_KINDS = ("St", "Ave", "Blvd", "Rd", "Dr", "Way", "Pkwy", "Ct")
# (city, state, zip prefix, area codes, branch, territory, weight)
CITIES = (
    ("Tampa", "FL", "336", ("813",), "TPA", "WEST", 22),
    ("St. Petersburg", "FL", "337", ("727",), "TPA", "WEST", 10),
    ("Clearwater", "FL", "337", ("727",), "TPA", "WEST", 7),
    ("Sarasota", "FL", "342", ("941",), "TPA", "SOUTH", 6),
    ("Lakeland", "FL", "338", ("863",), "TPA", "CENTRAL", 5),
    ("Orlando", "FL", "328", ("407", "321"), "ORL", "CENTRAL", 14),
    ("Kissimmee", "FL", "347", ("407",), "ORL", "CENTRAL", 3),
    ("Miami", "FL", "331", ("305", "786"), "MIA", "SOUTH", 12),
    ("Fort Lauderdale", "FL", "333", ("954",), "MIA", "SOUTH", 6),
    ("Boca Raton", "FL", "334", ("561",), "MIA", "SOUTH", 4),
    ("Jacksonville", "FL", "322", ("904",), "JAX", "NORTH", 8),
    ("Gainesville", "FL", "326", ("352",), "JAX", "NORTH", 2),
    ("Tallahassee", "FL", "323", ("850",), "JAX", "NORTH", 2),
    ("Savannah", "GA", "314", ("912",), "JAX", "EAST", 1),
    ("Mobile", "AL", "366", ("251",), "JAX", "NORTH", 1),
    ("Toronto", "ON", "", ("416",), "ORL", "EAST", 1),
)
_CITY_WEIGHTS = tuple(city[-1] for city in CITIES)
LOCATION_LABELS = (
    "Warehouse", "North Office", "South Office", "Downtown", "Suite 200", "Clinic 2", "Annex",
    "Distribution Center", "East Campus", "West Campus", "Branch Office", "Training Center",
    "Lab", "Store #12", "Billing Dept.", "Admissions", "Service Center", "2nd Floor",
)  # fmt: skip


def company_name(rng: random.Random) -> str:
    pattern = rng.random()
    suffix = rng.choice(SUFFIXES)
    if pattern < 0.4:
        name = f"{rng.choice(PLACES)} {rng.choice(TRADES)}"
    elif pattern < 0.8:
        name = f"{rng.choice(SURNAMES)} {rng.choice(TRADES)}"
    elif pattern < 0.93:
        first, second = rng.sample(SURNAMES, 2)
        name = f"{first} & {second}"
        suffix = suffix or "LLP"
    else:
        first, second, third = rng.sample(SURNAMES, 3)
        name = f"{first}, {second} & {third}"
    return f"{name} {suffix}" if suffix else name


def person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST_NAMES), rng.choice(SURNAMES)


def ascii_letters(text: str) -> str:
    """Letters and digits only, accents folded: what a number or e-mail is made from."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded if ch.isalnum())


class Numbers:
    """e-automate-style customer numbers: four letters of the name and a counter (``HARP01``),
    unique, at most 15 characters."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def take(self, name: str) -> str:
        stem = (ascii_letters(name).upper() + "XXXX")[:4]
        counter = self._next.get(stem, 1)
        self._next[stem] = counter + 1
        return f"{stem}{counter:02d}"


class Identifiers:
    """PSA Company IDs: unique, at most 30 characters; the UI derives one from the name without
    spaces and appends a digit when it is taken (``Globex``, ``Globex1``)."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def claim(self, identifier: str) -> str:
        if identifier in self.taken:
            raise ValueError(f"identifier {identifier!r} is taken")
        self.taken.add(identifier)
        return identifier

    def from_name(self, name: str) -> str:
        base = name.replace(" ", "")[:30]
        candidate, n = base, 0
        while candidate in self.taken:
            n += 1
            candidate = f"{base[: 30 - len(str(n))]}{n}"
        return self.claim(candidate)


def slug(name: str) -> str:
    return ascii_letters(name).lower()[:20] or "company"


def address(rng: random.Random) -> dict:
    city, state, zip_prefix, areas, branch, territory, _ = rng.choices(
        CITIES, weights=_CITY_WEIGHTS
    )[0]
    line1 = f"{rng.randint(10, 9899)} {rng.choice(STREETS)} {rng.choice(STREET_KINDS)}"
    if rng.random() < 0.03:
        line1 = f"{line1}, Bldg {rng.randint(1, 9)}"
    line2 = None
    if rng.random() < 0.3:
        line2 = rng.choice(("Suite", "Ste", "Unit", "Floor")) + f" {rng.randint(1, 950)}"
    if state == "ON":
        postcode = f"M{rng.randint(1, 9)}{rng.choice('ABCEGHJ')} {rng.randint(1, 9)}{rng.choice('KLMNPR')}{rng.randint(1, 9)}"  # noqa: E501
        country = "CA"
    else:
        postcode = f"{zip_prefix}{rng.randint(1, 99):02d}"
        if rng.random() < 0.15:
            postcode = f"{postcode}-{rng.randint(1, 9999):04d}"
        country = "US"
    return {
        "address1": line1,
        "address2": line2,
        "city": city,
        "state": state,
        "zip": postcode,
        "country": country,
        "area": rng.choice(areas),
        "branch": branch,
        "territory": territory,
    }


def phone(rng: random.Random, area: str) -> str:
    return f"({area}) 555-01{rng.randint(0, 99):02d}"


def reformat_phone(number: str) -> str:
    """Same digits, other punctuation: ``(813) 555-0142`` -> ``813.555.0142``."""
    digits = "".join(ch for ch in number if ch.isdigit())
    return f"{digits[:3]}.{digits[3:6]}.{digits[6:]}"
