"""Parameters of the synthetic landing zone: the landing contract's columns and enum codes,
and every tunable of the simulation (rates, probabilities, names).

The columns and enum domains come from the landing contract (`orchestration.contract`, the
dbt var `landing_sources`); the positions of an enum's values are the codes the simulation
uses internally.
"""

from __future__ import annotations

import numpy as np

from orchestration.contract import SOURCES

# whose positions are the codes the simulation uses internally.
COLUMNS: dict[str, tuple[str, ...]] = {name: spec.columns for name, spec in SOURCES.items()}
DAILY_SOURCES = ("sends", "interactions", "events", "consent_changes")


def _codes(domain: tuple[str, ...], *values: str) -> tuple[int, ...]:
    return tuple(domain.index(value) for value in values)


CHANNELS = SOURCES["sends"].enums["channel"]
CONSENT_CHANNELS = SOURCES["consent_changes"].enums["channel"]
# A channel's code must not depend on the source.
assert CONSENT_CHANNELS[: len(CHANNELS)] == CHANNELS, CONSENT_CHANNELS
PUSH, EMAIL, SMS, WHATSAPP, ALL = _codes(
    CONSENT_CHANNELS, "push", "email", "sms", "whatsapp", "all"
)
CATEGORIES = SOURCES["sends"].enums["message_category"]
(MARKETING,) = _codes(CATEGORIES, "marketing")
DELIVERY_STATUSES = SOURCES["sends"].enums["delivery_status"]
INTERACTION_TYPES = SOURCES["interactions"].enums["interaction_type"]
OPEN, CLICK, DISMISS, REPLY, CONVERSION = _codes(
    INTERACTION_TYPES, "open", "click", "dismiss", "reply", "conversion"
)
STATUSES = SOURCES["consent_changes"].enums["status"]
OPTED_IN, OPTED_OUT = _codes(STATUSES, "opted_in", "opted_out")
CONSENT_SOURCES = SOURCES["consent_changes"].enums["source"]
APP_SETTINGS, UNSUBSCRIBE_LINK, INBOUND_KEYWORD, ADMIN, API, IMPORT = _codes(
    CONSENT_SOURCES, "app_settings", "unsubscribe_link", "inbound_keyword", "admin", "api", "import"
)

ID_WIDTH = 10  # s/i/e/cc ids: fixed width so text order == numeric order at any scale
DAY = 86_400
SPIKE_NAME = "Flash Blast Spike Push"

# --- Contact fields -------------------------------------------------------------------------
FIRST_NAMES = (
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Elif",
    "Mehmet",
    "Zeynep",
    "Can",
    "Amelia",
    "Oliver",
    "Isla",
    "George",
    "Sofia",
    "Lucas",
    "Mia",
    "Ayse",
    "Emre",
    "Grace",
    "Jack",
)
LAST_NAMES = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Yilmaz",
    "Kaya",
    "Demir",
    "Celik",
    "Taylor",
    "Wilson",
    "Evans",
    "O'Brien",
    "Walker",
    "Wright",
)
TEAMS = ("growth", "lifecycle", "crm_emea", "crm_us", "retention")
TEAM_P = (0.3, 0.25, 0.2, 0.15, 0.1)
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")
# Country mix drives the phone prefix and the user's time zone (offset hours from UTC).
COUNTRY_P = (0.55, 0.30, 0.15)  # US, UK, TR

# --- Campaigns --------------------------------------------------------------------------------
CHANNEL_LABELS = ("Push", "Email", "SMS", "WhatsApp")
MARKETING_THEMES = (
    "Spring Sale",
    "Weekend Deals",
    "New Arrivals",
    "Flash Sale",
    "Loyalty Rewards",
    "Back In Stock",
    "Price Drop",
    "Abandoned Cart",
    "Summer Picks",
    "Member Exclusive",
    "Win Back",
    '"Treat Yourself", 20% Off',  # a name that needs RFC 4180 quoting
)
UTILITY_THEMES = ("Account Alerts", "App Update", "Service Notice")
# Always-on, non-marketing campaigns: one per (channel, category).
EVERGREEN_THEMES = {1: "Order Updates", 2: "Account Alerts", 3: "Login Code"}
SCHEDULED_CHANNEL_P = (0.5, 0.3, 0.12, 0.08)

# --- Message volume (per user per day, before weekday and engagement effects) ---------------
CHANNEL_REACH_P = (0.9, 0.95, 0.8, 0.4)  # has the app / email opt-in target / sms / whatsapp
CHANNEL_RATE_MEAN = (2.0, 0.35, 0.15, 0.12)
CHANNEL_RATE_SHAPE = (1.3, 2.0, 2.0, 2.0)  # gamma shape: push pressure is very uneven
MARKETING_SHARE = (0.75, 0.7, 0.4, 0.5)
OTHER_CATEGORY_P = (  # transactional, utility, otp for non-marketing sends per channel
    (0.6, 0.3, 0.1),
    (0.5, 0.3, 0.2),
    (0.3, 0.2, 0.5),
    (0.5, 0.2, 0.3),
)
SUPPRESSION_LEAK = 0.03  # marketing still reaching opted-out users (a real-world bug)
DELIVERY_P = ((0.93, 0.05, 0.02), (0.90, 0.03, 0.07), (0.95, 0.04, 0.01), (0.94, 0.05, 0.01))
BLAST_SHARE = (0.1, 0.35)
SPIKE_SHARE = 0.85
SPIKE_HOURS = (17, 19, 21)  # the spike campaign sends three pushes in one evening (UTC)

# --- Interactions -------------------------------------------------------------------------------
# First reaction to a delivered send: open, dismiss, reply, click (rest: none).
FIRST_REACTION_P = (
    (0.08, 0.12, 0.0, 0.01),
    (0.22, 0.0, 0.0, 0.01),
    (0.0, 0.0, 0.01, 0.05),
    (0.45, 0.0, 0.03, 0.01),
)
FIRST_REACTION_TYPES = np.array([OPEN, DISMISS, REPLY, CLICK], dtype=np.int8)
FIRST_REACTION_MEDIAN_S = np.array([1200.0, 90.0, 600.0, 900.0])
CLICK_AFTER_OPEN_P = (0.35, 0.18, 0.0, 0.12)
CONVERSION_AFTER_CLICK_P = 0.12
UNTRACKED_SEND_P = 0.02  # interactions whose send_id was lost by the tracker
ORGANIC_INTERACTIONS_PER_USER = 0.01  # inbox opens without a send or campaign

# --- Events -----------------------------------------------------------------------------------
EVENT_NAMES = (
    "app_open",
    "session_start",
    "view_screen",
    "view_product",
    "search",
    "add_to_cart",
    "remove_from_cart",
    "begin_checkout",
    "purchase",
    "add_to_wishlist",
    "share",
    "login",
    "view_promotion",
    "view_notification_settings",
)
EVENT_P = (
    0.16,
    0.14,
    0.2,
    0.16,
    0.08,
    0.06,
    0.015,
    0.025,
    0.012,
    0.03,
    0.01,
    0.04,
    0.04,
    0.003,
)
SETTINGS_EVENT = EVENT_NAMES.index("view_notification_settings")
EVENT_RATE_MEAN = 5.0
DISENGAGING_SHARE = 0.3
DISENGAGE_TAU_DAYS = (4.0, 10.0)

# --- Consent ------------------------------------------------------------------------------------
IMPORT_P = (0.85, 0.7, 0.6, 0.5)  # initial import rows per reachable (user, channel)
IMPORT_OPTED_OUT_P = 0.04
MID_IMPORT_USERS = 0.03  # a second, smaller CRM import half-way through the window
BASE_HAZARD = (0.00015, 0.00015, 0.0002, 0.00015, 0.00005)  # per channel incl. all, per day
PUSH_K = (0.3, 0.05, 0.05, 0.05, 0.1)  # signal 1: hazard *= 1 + k * delivered push 7d
OWN_K = (0.0, 0.25, 0.25, 0.25, 0.0)  # fatigue from the channel's own messages 7d
DISENGAGE_K = 25.0  # signal 3: hazard *= 1 + k * (1 - activity)
SPIKE_OPTOUT_P = 0.08  # signal 2: per delivered spike recipient
SPIKE_DELAY_MEDIAN_S = 2.5 * 3600
SPIKE_INTERACTED_P = 0.75
OPTIN_P = 0.004  # opted-out (user, channel) opting back in, per day
REPEAT_P = (0.002, 0.002, 0.012, 0.012, 0.002)  # a second STOP, per day
CHURN_AFTER_OPTOUT = (0.3, 0.5)  # P(stop using the app) = a + b * (1 - activity)
OPTOUT_SOURCE_P = (
    (0.75, 0.0, 0.0, 0.08, 0.17, 0.0),
    (0.10, 0.80, 0.0, 0.04, 0.06, 0.0),
    (0.02, 0.0, 0.85, 0.05, 0.08, 0.0),
    (0.05, 0.0, 0.80, 0.05, 0.10, 0.0),
    (0.35, 0.15, 0.20, 0.15, 0.15, 0.0),
)
OPTIN_SOURCE_P = (
    (0.7, 0.0, 0.0, 0.1, 0.2, 0.0),
    (0.5, 0.0, 0.0, 0.2, 0.3, 0.0),
    (0.2, 0.0, 0.7, 0.05, 0.05, 0.0),
    (0.2, 0.0, 0.7, 0.05, 0.05, 0.0),
    (0.4, 0.0, 0.0, 0.3, 0.3, 0.0),
)
REPEAT_SOURCE = (API, UNSUBSCRIBE_LINK, INBOUND_KEYWORD, INBOUND_KEYWORD, ADMIN)
OPTOUT_KEYWORDS = (
    "STOP",
    "Stop",
    "stop",
    "UNSUBSCRIBE",
    "cancel",
    " STOP ",
    "END",
    "QUIT",
    "opt out",
)
OPTOUT_KEYWORD_P = (0.35, 0.12, 0.12, 0.1, 0.06, 0.05, 0.06, 0.06, 0.08)
OPTIN_KEYWORDS = ("START", "Start", "UNSTOP", "yes")
OPTIN_KEYWORD_P = (0.6, 0.2, 0.1, 0.1)
REASONS = (
    "too many messages",
    "not relevant",
    "never signed up",
    "privacy concerns",
    "switched to another app",
    "other",
)
REASON_GIVEN_P = 0.5  # only for sources where a form asks for one

# Local-time activity profile (hour 0..23): quiet nights, evening peak.
HOUR_WEIGHTS = np.array(
    [
        0.4,
        0.25,
        0.15,
        0.1,
        0.1,
        0.2,
        0.5,
        1.0,
        1.4,
        1.4,
        1.3,
        1.3,
        1.5,
        1.4,
        1.3,
        1.3,
        1.4,
        1.6,
        1.9,
        2.2,
        2.3,
        2.0,
        1.5,
        0.9,
    ]
)
HOUR_P = HOUR_WEIGHTS / HOUR_WEIGHTS.sum()
SEND_WEEKDAY = (1.05, 1.1, 1.05, 1.1, 1.0, 0.85, 0.8)  # Monday first
EVENT_WEEKDAY = (0.95, 0.95, 0.95, 1.0, 1.05, 1.1, 1.1)
