-- Landing rows of `interactions` that break the contract, conflict or cannot be read,
-- with their text and reason (docs/CONTRACT.md §2).
{{ config(alias='interactions') }}

{{ quarantine_rows('interactions') }}
