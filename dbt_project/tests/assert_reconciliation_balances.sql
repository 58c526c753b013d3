-- docs/CONTRACT.md §3: for every source, raw = clean + quarantined + duplicates removed.
select *
from {{ ref('agg_load_reconciliation') }}
where raw_rows != clean_rows + quarantined_rows + duplicate_rows_removed
