-- One row per landing-zone source: raw = clean + quarantined + duplicates.
{% for source_name in optout_sources() %}
    select *
    from (
        {{ reconciliation_counts(source_name) | indent(4) }}
    ) as {{ source_name }}
    {% if not loop.last %}union all{% endif %}
{% endfor %}
