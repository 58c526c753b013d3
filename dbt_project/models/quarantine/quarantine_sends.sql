-- Landing rows of `sends` that break the contract, conflict or cannot be read,
-- with their text and reason (docs/CONTRACT.md §2).
{{ config(alias='sends') }}

{{ quarantine_rows('sends') }}
