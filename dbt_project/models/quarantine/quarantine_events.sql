-- Landing rows of `events` that break the contract, conflict or cannot be read,
-- with their text and reason (docs/CONTRACT.md §2).
{{ config(alias='events') }}

{{ quarantine_rows('events') }}
