"""One row builder per landing source, keyword-only, for the tests' landing zones.

Each returns a dict with every column of its source (conftest.COLUMNS order). The
primary key has no default: two rows sharing a default key would silently become
copies or conflicts. The other defaults make a valid row: required columns hold a
value, optional ones are None (an empty CSV field). A scenario names every value it
depends on; a module whose rows share values binds them once with functools.partial.
"""

from __future__ import annotations

T = "2024-03-10T12:00:00Z"  # the default timestamp of every source
CHANNEL = "push"


def user(
    *,
    user_id: str,
    external_id: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    team_code: str | None = None,
    created_at: str | None = None,
    updated_at: str | None = "2024-01-01T00:00:00Z",
) -> dict:
    return {
        "user_id": user_id,
        "external_id": external_id,
        "email": email,
        "phone": phone,
        "first_name": first_name,
        "last_name": last_name,
        "team_code": team_code,
        "created_at": created_at,
        "updated_at": updated_at,
    }


def campaign(
    *,
    campaign_id: str,
    campaign_name: str | None = None,
    channel: str | None = CHANNEL,
    message_category: str | None = "marketing",
    started_at: str | None = None,
) -> dict:
    return {
        "campaign_id": campaign_id,
        "campaign_name": campaign_name,
        "channel": channel,
        "message_category": message_category,
        "started_at": started_at,
    }


def send(
    *,
    send_id: str,
    user_id: str | None = "u_1",
    campaign_id: str | None = None,
    channel: str | None = CHANNEL,
    message_category: str | None = "marketing",
    sent_at: str | None = T,
    delivery_status: str | None = "delivered",
) -> dict:
    return {
        "send_id": send_id,
        "user_id": user_id,
        "campaign_id": campaign_id,
        "channel": channel,
        "message_category": message_category,
        "sent_at": sent_at,
        "delivery_status": delivery_status,
    }


def interaction(
    *,
    interaction_id: str,
    user_id: str | None = "u_1",
    campaign_id: str | None = None,
    send_id: str | None = None,
    channel: str | None = CHANNEL,
    interaction_type: str | None = "click",
    occurred_at: str | None = T,
) -> dict:
    return {
        "interaction_id": interaction_id,
        "user_id": user_id,
        "campaign_id": campaign_id,
        "send_id": send_id,
        "channel": channel,
        "interaction_type": interaction_type,
        "occurred_at": occurred_at,
    }


def event(
    *,
    event_id: str,
    user_id: str | None = "u_1",
    event_name: str | None = "app_open",
    occurred_at: str | None = T,
) -> dict:
    return {
        "event_id": event_id,
        "user_id": user_id,
        "event_name": event_name,
        "occurred_at": occurred_at,
    }


def consent_change(
    *,
    change_id: str,
    user_id: str | None = "u_1",
    channel: str | None = CHANNEL,
    status: str | None = "opted_out",
    changed_at: str | None = T,
    source: str | None = "app_settings",
    keyword: str | None = None,
    reason: str | None = None,
) -> dict:
    return {
        "change_id": change_id,
        "user_id": user_id,
        "channel": channel,
        "status": status,
        "changed_at": changed_at,
        "source": source,
        "keyword": keyword,
        "reason": reason,
    }


BUILDERS = {
    "users": user,
    "campaigns": campaign,
    "sends": send,
    "interactions": interaction,
    "events": event,
    "consent_changes": consent_change,
}
