-- Landing rows of `campaigns`: raw text, typed values and invalid_reason. The
-- post-hook saves the CSV rows DuckDB could not parse for the quarantine.
{{ config(post_hook="{{ persist_landing_rejects('campaigns') }}") }}

{{ landing_base('campaigns') }}
