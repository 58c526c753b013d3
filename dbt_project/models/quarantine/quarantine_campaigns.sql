-- Landing rows of `campaigns` that break the contract, conflict or cannot be read,
-- with their text and reason (docs/CONTRACT.md §2).
{{ config(alias='campaigns') }}

{{ quarantine_rows('campaigns') }}
