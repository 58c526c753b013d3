-- Every clean consent change applied to each messaging channel it covers:
-- a change on `all` becomes one row per channel (push, email, sms, whatsapp).
with

changes as (

    select * from {{ ref('stg_messaging__consent_changes') }}

),

channels as (

    {% for channel in ['push', 'email', 'sms', 'whatsapp'] -%}
        select '{{ channel }}' as channel
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        changes.change_id,
        changes.user_id,
        channels.channel,
        changes.channel as change_channel,
        changes.status,
        changes.changed_at,
        changes.source,
        changes.keyword,
        changes.reason

    from changes
    inner join channels
        on changes.channel = channels.channel or changes.channel = 'all'

)

select * from final
