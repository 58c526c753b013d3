{#
    The landing-zone contract of docs/CONTRACT.md §2 in one place: every source's columns,
    primary key, required columns, timestamps and enum domains. The landing
    views, validation, deduplication and quarantine models are all generated
    from it, so a rule changes in one spot.
#}
{% macro optout_sources() %}
    {% set channels = ['push', 'email', 'sms', 'whatsapp'] %}
    {% set categories = ['marketing', 'transactional', 'utility', 'otp'] %}
    {{ return({
        'users': {
            'columns': ['user_id', 'external_id', 'email', 'phone', 'first_name', 'last_name', 'team_code', 'created_at', 'updated_at'],
            'primary_key': 'user_id',
            'required': ['user_id', 'updated_at'],
            'timestamps': ['created_at', 'updated_at'],
            'enums': {},
        },
        'campaigns': {
            'columns': ['campaign_id', 'campaign_name', 'channel', 'message_category', 'started_at'],
            'primary_key': 'campaign_id',
            'required': ['campaign_id', 'channel', 'message_category'],
            'timestamps': ['started_at'],
            'enums': {'channel': channels, 'message_category': categories},
        },
        'sends': {
            'columns': ['send_id', 'user_id', 'campaign_id', 'channel', 'message_category', 'sent_at', 'delivery_status'],
            'primary_key': 'send_id',
            'required': ['send_id', 'user_id', 'sent_at', 'channel', 'message_category', 'delivery_status'],
            'timestamps': ['sent_at'],
            'enums': {'channel': channels, 'message_category': categories, 'delivery_status': ['delivered', 'failed', 'bounced']},
        },
        'interactions': {
            'columns': ['interaction_id', 'user_id', 'campaign_id', 'send_id', 'channel', 'interaction_type', 'occurred_at'],
            'primary_key': 'interaction_id',
            'required': ['interaction_id', 'user_id', 'occurred_at', 'channel', 'interaction_type'],
            'timestamps': ['occurred_at'],
            'enums': {'channel': channels, 'interaction_type': ['open', 'click', 'dismiss', 'reply', 'conversion']},
        },
        'events': {
            'columns': ['event_id', 'user_id', 'event_name', 'occurred_at'],
            'primary_key': 'event_id',
            'required': ['event_id', 'user_id', 'event_name', 'occurred_at'],
            'timestamps': ['occurred_at'],
            'enums': {},
        },
        'consent_changes': {
            'columns': ['change_id', 'user_id', 'channel', 'status', 'changed_at', 'source', 'keyword', 'reason'],
            'primary_key': 'change_id',
            'required': ['change_id', 'user_id', 'changed_at', 'channel', 'status', 'source'],
            'timestamps': ['changed_at'],
            'enums': {
                'channel': channels + ['all'],
                'status': ['opted_in', 'opted_out'],
                'source': ['app_settings', 'unsubscribe_link', 'inbound_keyword', 'admin', 'api', 'import'],
            },
        },
    }) }}
{% endmacro %}
