-- One row per (UTC date, channel) whose opt-outs are abnormally high against the
-- channel's own previous var('alert_baseline_days') days (zeros included). The days
-- more than three robust standard deviations from the baseline's median are set aside
-- (an earlier blast must not hide the next one); of the others, expected = their mean
-- and dispersion = max(1, variance / mean). score = the Freeman-Tukey deviate
-- sqrt(x) + sqrt(x + 1) - sqrt(4 * expected + 1) (about N(0, 1) for Poisson counts)
-- divided by sqrt(dispersion). Only + - x / and sqrt over integer sums: both engines
-- compute the same bits.
{%- set baseline_days = var('alert_baseline_days') | int %}
{%- set min_baseline_days = var('alert_min_baseline_days') | int %}
{%- set min_optouts = var('alert_min_optouts') | int %}
{%- set threshold = var('alert_score_threshold') | float %}
{%- set critical = var('alert_critical_score') | float %}
{%- if baseline_days < 1 or min_baseline_days < 1 or min_baseline_days > baseline_days %}
    {{ exceptions.raise_compiler_error(
        "vars alert_baseline_days and alert_min_baseline_days must be whole numbers with "
        ~ "1 <= alert_min_baseline_days <= alert_baseline_days, got "
        ~ baseline_days ~ " and " ~ min_baseline_days
    ) }}
{%- endif %}
with

calendar as (

    select * from {{ ref('int_calendar') }}

),

daily as (

    select * from {{ ref('agg_optouts_daily') }}

),

attribution as (

    select * from {{ ref('fct_optout_attribution') }}

),

campaigns as (

    select * from {{ ref('stg_messaging__campaigns') }}

),

channels as (

    select distinct channel from daily

),

daily_counts as (

    select
        calendar.date_day as date,
        channels.channel,
        coalesce(daily.optouts, 0) as optouts

    from calendar
    cross join channels
    left join daily
        on calendar.date_day = daily.date and channels.channel = daily.channel

),

baseline_rows as (

    select
        target.date,
        target.channel,
        past.optouts

    from daily_counts as target
    inner join daily_counts as past
        on
            target.channel = past.channel
            and past.date >= {{ date_add_days('target.date', -baseline_days) }}
            and past.date < target.date

),

baseline_counts as (

    select
        date,
        channel,
        count(*) as baseline_days

    from baseline_rows
    group by date, channel

),

ranked_baseline as (

    select
        date,
        channel,
        optouts,
        row_number() over (partition by date, channel order by optouts) as value_rank,
        count(*) over (partition by date, channel) as n_values

    from baseline_rows

),

baseline_medians as (

    select
        date,
        channel,
        avg(optouts) as median_optouts

    from ranked_baseline
    where value_rank >= n_values / 2.0 and value_rank <= n_values / 2.0 + 1
    group by date, channel

),

ranked_deviations as (

    select
        baseline_rows.date,
        baseline_rows.channel,
        abs(baseline_rows.optouts - baseline_medians.median_optouts) as deviation,
        row_number() over (
            partition by baseline_rows.date, baseline_rows.channel
            order by abs(baseline_rows.optouts - baseline_medians.median_optouts)
        ) as value_rank,
        count(*) over (partition by baseline_rows.date, baseline_rows.channel) as n_values

    from baseline_rows
    inner join baseline_medians
        on
            baseline_rows.date = baseline_medians.date
            and baseline_rows.channel = baseline_medians.channel

),

-- Outlier days of the baseline (an earlier blast, an outage) are those more than three
-- robust standard deviations from its median: max(1.4826 x MAD, sqrt(median), 1).
baseline_fences as (

    select
        baseline_medians.date,
        baseline_medians.channel,
        baseline_medians.median_optouts,
        3 * greatest(
            cast(1.4826 as double) * avg(ranked_deviations.deviation),
            sqrt(baseline_medians.median_optouts),
            cast(1 as double)
        ) as fence

    from baseline_medians
    inner join ranked_deviations
        on
            baseline_medians.date = ranked_deviations.date
            and baseline_medians.channel = ranked_deviations.channel
    where
        ranked_deviations.value_rank >= ranked_deviations.n_values / 2.0
        and ranked_deviations.value_rank <= ranked_deviations.n_values / 2.0 + 1
    group by baseline_medians.date, baseline_medians.channel, baseline_medians.median_optouts

),

-- Mean and variance of the other days, from integer sums (both engines, same bits).
baseline_sums as (

    select
        baseline_rows.date,
        baseline_rows.channel,
        count(*) as n,
        sum(baseline_rows.optouts) as sum_x,
        -- n x the sum of squared deviations from the mean: n sum(x^2) - sum(x)^2
        count(*) * sum(baseline_rows.optouts * baseline_rows.optouts)
        - sum(baseline_rows.optouts) * sum(baseline_rows.optouts) as n_squared_deviations

    from baseline_rows
    inner join baseline_fences
        on
            baseline_rows.date = baseline_fences.date
            and baseline_rows.channel = baseline_fences.channel
    where abs(baseline_rows.optouts - baseline_fences.median_optouts) <= baseline_fences.fence
    group by baseline_rows.date, baseline_rows.channel

),

baseline_stats as (

    select
        daily_counts.date,
        daily_counts.channel,
        daily_counts.optouts,
        baseline_counts.baseline_days,
        cast(baseline_sums.sum_x as double) / baseline_sums.n as expected_optouts,
        case
            when baseline_sums.n > 1
                then cast(baseline_sums.n_squared_deviations as double)
                    / (baseline_sums.n * (baseline_sums.n - 1))
        end as variance

    from daily_counts
    inner join baseline_counts
        on
            daily_counts.date = baseline_counts.date
            and daily_counts.channel = baseline_counts.channel
    inner join baseline_sums
        on
            daily_counts.date = baseline_sums.date
            and daily_counts.channel = baseline_sums.channel

),

dispersed as (

    select
        date,
        channel,
        optouts,
        baseline_days,
        expected_optouts,
        case
            when expected_optouts > 0 and variance is not null
                then greatest(cast(1 as double), variance / expected_optouts)
            else cast(1 as double)
        end as dispersion

    from baseline_stats

),

scored as (

    select
        *,
        (
            sqrt(cast(optouts as double))
            + sqrt(cast(optouts as double) + 1)
            - sqrt(4 * expected_optouts + 1)
        ) / sqrt(dispersion) as score

    from dispersed

),

flagged as (

    select * from scored
    where
        baseline_days >= {{ min_baseline_days }}
        and optouts >= {{ min_optouts }}
        and score >= {{ threshold }}

),

campaign_optouts as (

    select
        attribution.opted_out_date as date,
        attribution.channel,
        attribution.attributed_campaign_id as campaign_id,
        coalesce(campaigns.campaign_name, attribution.attributed_campaign_id) as campaign_label,
        count(*) as optouts

    from attribution
    left join campaigns
        on attribution.attributed_campaign_id = campaigns.campaign_id
    where attribution.is_attributed
    group by
        attribution.opted_out_date,
        attribution.channel,
        attribution.attributed_campaign_id,
        coalesce(campaigns.campaign_name, attribution.attributed_campaign_id)

),

ranked_campaigns as (

    select
        *,
        campaign_label || ' (' || cast(optouts as {{ dbt.type_string() }}) || ')' as campaign_entry,
        row_number() over (
            partition by date, channel
            order by optouts desc, {{ id_order('campaign_id') }}
        ) as campaign_rank

    from campaign_optouts

),

top_campaigns as (

    select
        date,
        channel,
        sum(optouts) as attributed_optouts,
        max(case when campaign_rank = 1 then campaign_id end) as top_campaign_id,
        max(case when campaign_rank = 1 then campaign_label end) as top_campaign_name,
        max(case when campaign_rank = 1 then optouts end) as top_campaign_optouts,
        concat_ws(
            '; ',
            max(case when campaign_rank = 1 then campaign_entry end),
            max(case when campaign_rank = 2 then campaign_entry end),
            max(case when campaign_rank = 3 then campaign_entry end)
        ) as top_campaigns

    from ranked_campaigns
    group by date, channel

),

final as (

    select
        flagged.date,
        flagged.channel,
        cast(flagged.optouts as {{ dbt.type_bigint() }}) as optouts,
        flagged.expected_optouts,
        cast(flagged.baseline_days as {{ dbt.type_bigint() }}) as baseline_days,
        flagged.dispersion,
        flagged.score,
        case when flagged.score >= {{ critical }} then 'critical' else 'warning' end as severity,
        cast(coalesce(top_campaigns.attributed_optouts, 0) as {{ dbt.type_bigint() }})
            as attributed_optouts,
        top_campaigns.top_campaign_id,
        top_campaigns.top_campaign_name,
        cast(top_campaigns.top_campaign_optouts as {{ dbt.type_bigint() }}) as top_campaign_optouts,
        top_campaigns.top_campaigns

    from flagged
    left join top_campaigns
        on flagged.date = top_campaigns.date and flagged.channel = top_campaigns.channel

)

select * from final
