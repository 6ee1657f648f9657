"""Static vocabulary of the synthetic tenant: names, places, catalogue, segment and campaign definitions."""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "BRANDS",
    "CAMPAIGNS",
    "CATEGORIES",
    "CHANNELS",
    "CITIES",
    "FEMALE_NAMES",
    "LAST_NAMES",
    "MALE_NAMES",
    "PRICE_RANGE",
    "PRODUCT_NOUNS",
    "SEGMENTS",
    "STREETS",
    "CampaignDef",
    "ChannelDef",
    "SegmentDef",
]

FEMALE_NAMES = (
    "Olivia", "Emma", "Charlotte", "Amelia", "Sophia", "Mia", "Isabella", "Ava", "Evelyn", "Harper", "Luna",
    "Camila", "Sofia", "Scarlett", "Elizabeth", "Eleanor", "Emily", "Chloe", "Mila", "Aria", "Nora", "Hazel",
    "Zoe", "Riley", "Layla", "Lily", "Aurora", "Nova", "Ellie", "Madison", "Grace", "Isla", "Willow", "Leah",
)
MALE_NAMES = (
    "Liam", "Noah", "Oliver", "James", "Elijah", "Mateo", "Theodore", "Henry", "Lucas", "William", "Benjamin",
    "Levi", "Sebastian", "Jack", "Ezra", "Michael", "Daniel", "Leo", "Owen", "Samuel", "Hudson", "Alexander",
    "Asher", "Luca", "Ethan", "John", "David", "Jackson", "Joseph", "Mason", "Luke", "Matthew", "Julian", "Dylan",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez",
    "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez",
    "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen",
    "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Kim", "Chen", "Singh", "Okafor", "Novak", "Rossi",
)
CITIES = (
    ("New York", "NY"), ("Los Angeles", "CA"), ("Chicago", "IL"), ("Houston", "TX"), ("Phoenix", "AZ"),
    ("Philadelphia", "PA"), ("San Antonio", "TX"), ("San Diego", "CA"), ("Dallas", "TX"), ("Austin", "TX"),
    ("Seattle", "WA"), ("Denver", "CO"), ("Boston", "MA"), ("Nashville", "TN"), ("Portland", "OR"),
    ("Atlanta", "GA"), ("Miami", "FL"), ("Minneapolis", "MN"), ("Columbus", "OH"), ("Raleigh", "NC"),
)
STREETS = ("Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Park Blvd", "Elm St", "Lake Rd", "Hill St", "Pine Ct")
CATEGORIES = ("Apparel", "Footwear", "Beauty", "Electronics", "Home", "Sports", "Toys", "Grocery")
BRANDS = ("Northwind", "Contoso", "Fabrikam", "Tailspin", "Wingtip", "Litware", "Proseware", "Adatum")
PRODUCT_NOUNS: dict[str, tuple[str, ...]] = {
    "Apparel": ("T-Shirt", "Hoodie", "Jeans", "Jacket", "Dress"),
    "Footwear": ("Sneakers", "Boots", "Sandals", "Loafers", "Running Shoes"),
    "Beauty": ("Moisturiser", "Lipstick", "Shampoo", "Perfume", "Face Serum"),
    "Electronics": ("Headphones", "Smartwatch", "Speaker", "Charger", "Tablet"),
    "Home": ("Throw Blanket", "Candle", "Cookware Set", "Lamp", "Towel Set"),
    "Sports": ("Yoga Mat", "Dumbbells", "Water Bottle", "Tennis Racket", "Cycling Gloves"),
    "Toys": ("Puzzle", "Building Blocks", "Plush Bear", "Board Game", "RC Car"),
    "Grocery": ("Coffee Beans", "Olive Oil", "Dark Chocolate", "Green Tea", "Granola"),
}
PRICE_RANGE: dict[str, tuple[float, float]] = {
    "Apparel": (15, 120), "Footwear": (40, 180), "Beauty": (8, 90), "Electronics": (25, 400),
    "Home": (10, 150), "Sports": (10, 200), "Toys": (10, 80), "Grocery": (4, 30),
}


class ChannelDef(NamedTuple):
    channel_id: str
    name: str
    icon: str
    opt_in_rate: float


CHANNELS = (
    ChannelDef("01", "Email", "mail.svg", 0.70),
    ChannelDef("02", "Push", "push.svg", 0.45),
    ChannelDef("03", "SMS", "sms.svg", 0.50),
    ChannelDef("04", "WhatsApp", "whatsapp.svg", 0.25),
)


class SegmentDef(NamedTuple):
    segment_id: str
    key: str  # the rule in seed.py that decides membership
    name: str
    description: str
    segment_type: str


SEGMENTS = (
    SegmentDef("101", "high_value", "High Value", "Spent $800 or more in the last 365 days", "Value"),
    SegmentDef("102", "lapsed_90", "Lapsed 90 Days", "Bought before, but not in the last 90 days", "Lifecycle"),
    SegmentDef("103", "newsletter", "Newsletter Subscribers", "Opted in to the email newsletter", "Consent"),
    SegmentDef("104", "new_customer", "New Customers", "First order within the last 60 days", "Lifecycle"),
    SegmentDef("105", "app_active", "Active App Users", "Opened the app in the last 30 days", "Engagement"),
    SegmentDef("106", "gold_plus", "Gold and Platinum Members", "Membership tier Gold or Platinum", "Value"),
    SegmentDef("107", "frequent", "Frequent Buyers", "Eight or more orders in the last 365 days", "Engagement"),
    SegmentDef("108", "never_purchased", "Never Purchased", "Registered without any order", "Lifecycle"),
    SegmentDef("109", "sms_reachable", "SMS Reachable", "Opted in to SMS", "Consent"),
    SegmentDef("110", "beauty_fans", "Beauty Enthusiasts", "Beauty is the top category affinity", "Affinity"),
    SegmentDef("111", "sports_fans", "Sports Fans", "Sports is the top category affinity", "Affinity"),
    SegmentDef("112", "tech_fans", "Electronics Enthusiasts", "Electronics is the top category affinity", "Affinity"),
)


class CampaignDef(NamedTuple):
    campaign_id: str
    name: str
    channel: str
    status: str
    segment_id: str
    start_days_ago: int  # negative: in the future
    end_days_ago: int


CAMPAIGNS = (
    CampaignDef("C2001", "Holiday VIP Preview", "Email", "Completed", "106", 40, 30),
    CampaignDef("C2002", "We Miss You - 20% Off", "Email", "Running", "102", 20, -10),
    CampaignDef("C2003", "Welcome Series", "Email", "Running", "104", 60, -30),
    CampaignDef("C2004", "Monthly Newsletter", "Email", "Completed", "103", 28, 27),
    CampaignDef("C2005", "Flash Sale SMS", "SMS", "Completed", "109", 15, 14),
    CampaignDef("C2006", "App Exclusive Deals", "Push", "Running", "105", 10, -5),
    CampaignDef("C2007", "High Value Thank You", "Email", "Completed", "101", 90, 80),
    CampaignDef("C2008", "Beauty Week", "Push", "Completed", "110", 120, 113),
    CampaignDef("C2009", "Sports Gear Launch", "WhatsApp", "Completed", "111", 200, 190),
    CampaignDef("C2010", "Tech Upgrade Days", "Email", "Scheduled", "112", -10, -20),
    CampaignDef("C2011", "Win-back SMS", "SMS", "Completed", "102", 45, 44),
    CampaignDef("C2012", "Loyalty Points Reminder", "Push", "Running", "107", 5, -25),
)
