-- Landing rows of `consent_changes` that break the contract, conflict or cannot be read,
-- with their text and reason (docs/CONTRACT.md §2).
{{ config(alias='consent_changes') }}

{{ quarantine_rows('consent_changes') }}
