"""Word lists the demo generator draws from.

Every name here is made up for the demo or is an ordinary given name,
surname, city or word; none comes from a customer data set.
"""

FIRST_NAMES = [
    "Aaron", "Abigail", "Adele", "Ahmed", "Aiko", "Alba", "Alejandro", "Amara", "Anders",
    "Andrea", "Anika", "Arjun", "Astrid", "Beatriz", "Benedikt", "Bianca", "Caleb", "Camille",
    "Carlos", "Chiara", "Chloe", "Dalia", "Daniel", "Dario", "Elena", "Elif", "Emeka",
    "Emil", "Erin", "Fatima", "Felix", "Freya", "Gabriel", "Greta", "Hannah", "Hiro",
    "Ines", "Isaac", "Ivana", "Jakob", "Jasmine", "Joao", "Jonas", "Julia", "Kai", "Kamala",
    "Karin", "Laila", "Lars", "Leona", "Lucas", "Luisa", "Mara", "Marek", "Maya", "Mei",
    "Milan", "Mira", "Nadia", "Nikolai", "Nina", "Noah", "Olga", "Omar", "Paula", "Pedro",
    "Priya", "Rafael", "Rania", "Ravi", "Rosa", "Samir", "Sara", "Sebastian", "Sofia",
    "Stefan", "Tariq", "Tess", "Tomas", "Valentina", "Victor", "Wanjiru", "Yara", "Yusuf",
    "Zofia", "Zoran",
]

LAST_NAMES = [
    "Abara", "Albrecht", "Alvarez", "Andersen", "Baker", "Barros", "Becker", "Bianchi",
    "Brandt", "Castillo", "Chen", "Costa", "Dahl", "Diaz", "Dubois", "Eriksen", "Esposito",
    "Farouk", "Ferreira", "Fischer", "Garcia", "Greco", "Haddad", "Halvorsen", "Hartmann",
    "Horvat", "Ibrahim", "Ito", "Jansen", "Jensen", "Kamau", "Kaplan", "Kim", "Kowalski",
    "Kruger", "Lambert", "Larsen", "Lee", "Lindqvist", "Lopez", "Mahlangu", "Marin",
    "Martens", "Mendes", "Meyer", "Moreau", "Mwangi", "Nakamura", "Nguyen", "Novak",
    "Odhiambo", "Okafor", "Olsen", "Ortiz", "Park", "Peeters", "Petrov", "Popescu", "Quinn",
    "Ramos", "Reyes", "Ricci", "Rossi", "Santos", "Sato", "Schmidt", "Silva", "Sorensen",
    "Suzuki", "Tanaka", "Torres", "Vasquez", "Vogel", "Wagner", "Walsh", "Weber", "Wong",
    "Yilmaz", "Zhang", "Zielinski",
]

# Company names are two made-up halves and a word for the line of business.
NAME_STARTS = [
    "Amber", "Arrow", "Aster", "Beacon", "Birch", "Bright", "Cedar", "Cobalt", "Copper",
    "Crest", "Delta", "Ember", "Falcon", "Fern", "Fjord", "Granite", "Harbor", "Hazel",
    "Heron", "Indigo", "Juniper", "Kestrel", "Lark", "Linden", "Lumen", "Maple", "Marble",
    "Meadow", "Nimbus", "North", "Oaken", "Onyx", "Orchid", "Pebble", "Quarry", "Raven",
    "Saffron", "Sable", "Slate", "Spruce", "Tamarind", "Thistle", "Umber", "Velvet",
    "Willow", "Wren", "Yarrow", "Zephyr",
]
NAME_ENDS = [
    "bay", "brook", "crest", "dale", "field", "ford", "gate", "glen", "haven", "hill",
    "holm", "leaf", "light", "line", "mark", "mere", "mont", "point", "ridge", "shore",
    "side", "stone", "vale", "ward", "well", "wick", "wood", "works",
]

# Sectors as the sales data set spells them, with its one misspelling fixed,
# and the word a company in that sector might carry in its name.
SECTORS = {
    "retail": ["Stores", "Retail", "Outfitters", "Market"],
    "technology": ["Technologies", "Systems", "Devices", "Labs"],
    "medical": ["Health", "Medical", "Clinics", "Biotech"],
    "marketing": ["Marketing", "Media", "Creative", "Agency"],
    "finance": ["Capital", "Finance", "Partners", "Bank"],
    "software": ["Software", "Cloud", "Digital", "Apps"],
    "entertainment": ["Studios", "Entertainment", "Games", "Pictures"],
    "telecommunications": ["Telecom", "Networks", "Mobile", "Connect"],
    "services": ["Services", "Solutions", "Consulting", "Group"],
    "employment": ["Staffing", "Talent", "Recruiting", "Careers"],
}
# The data set's sector mix, out of 85 accounts.
SECTOR_WEIGHTS = {
    "retail": 17, "technology": 12, "medical": 12, "marketing": 8, "finance": 8,
    "software": 7, "entertainment": 6, "telecommunications": 6, "services": 5,
    "employment": 4,
}

# Country: (weight, legal suffix, cities). The data set's accounts
# are mostly in the United States, with one each in a dozen other countries.
COUNTRIES = {
    "US": (70, "Inc.", ["New York", "Chicago", "Austin", "Denver", "Seattle", "Atlanta",
                        "Boston", "Phoenix", "Portland", "Columbus"]),
    "KE": (1, "Ltd", ["Nairobi", "Mombasa"]),
    "PH": (1, "Inc.", ["Manila", "Cebu City"]),
    "JP": (1, "K.K.", ["Tokyo", "Osaka"]),
    "IT": (1, "S.p.A.", ["Milan", "Turin"]),
    "NO": (1, "AS", ["Oslo", "Bergen"]),
    "KR": (1, "Co., Ltd.", ["Seoul", "Busan"]),
    "JO": (1, "LLC", ["Amman"]),
    "BR": (1, "Ltda.", ["Sao Paulo", "Curitiba"]),
    "DE": (2, "GmbH", ["Berlin", "Hamburg", "Munich"]),
    "PA": (1, "S.A.", ["Panama City"]),
    "BE": (1, "NV", ["Brussels", "Antwerp"]),
    "RO": (1, "S.R.L.", ["Bucharest", "Cluj-Napoca"]),
    "PL": (1, "sp. z o.o.", ["Warsaw", "Krakow", "Lodz"]),
    "CN": (1, "Co., Ltd.", ["Shanghai", "Shenzhen"]),
}

REGIONS = ["Central", "East", "West"]

JOB_TITLES = [
    "Chief Executive Officer", "Chief Technology Officer", "Chief Financial Officer",
    "Head of Procurement", "Procurement Manager", "IT Director", "IT Manager",
    "Operations Manager", "Office Manager", "Purchasing Lead", "Systems Administrator",
    "Facilities Manager", "Finance Controller", "Head of Engineering", "Project Manager",
    "Workplace Coordinator", "Network Engineer", "Chief Operating Officer",
]

TAGS = [
    "decision maker", "champion", "budget holder", "technical", "newsletter", "trade show",
    "partner", "key account", "renewal due", "needs follow-up",
]

SOURCES = ["web form", "trade show", "referral", "cold call", "partner", "webinar",
           "inbound e-mail"]

# Hardware lines the demo company sells, used by the custom fields and the
# wording of calls, meetings and tasks.
PRODUCT_LINES = ["Workstations", "Servers", "Laptops", "Storage", "Accessories"]

NOTE_TEXTS = [
    "Prefers e-mail over calls; copy the office manager on quotes.",
    "Budget for next year is approved, purchasing waits for the new fiscal year.",
    "Asked about extended warranty and on-site service terms.",
    "Currently runs a competitor's servers; contract ends in the spring.",
    "Met at the regional trade show; interested in a pilot for one office.",
    "Needs a security questionnaire answered before any order.",
    "Decision sits with the board; our contact prepares the recommendation.",
    "Happy with the last delivery, wants volume pricing for the next one.",
]
CALL_SUBJECTS = [
    "Discovery call", "Follow-up on quote", "Pricing questions", "Renewal check-in",
    "Delivery schedule", "Introduction call", "Support escalation follow-up",
]
MEETING_SUBJECTS = [
    "Product demo", "Quarterly business review", "On-site visit", "Pilot kick-off",
    "Contract review", "Technical deep dive",
]
EMAIL_SUBJECTS = [
    "Quote for {line}", "Spec sheets for {line}", "Meeting notes and next steps",
    "Your delivery is on its way", "Invitation to our webinar", "Renewal options",
]
TASK_SUBJECTS = [
    "Send revised quote for {line}", "Book a demo of {line}", "Call back about delivery",
    "Prepare renewal offer", "Check credit approval", "Send reference customer list",
    "Follow up after the trade show", "Confirm pilot success criteria",
]
