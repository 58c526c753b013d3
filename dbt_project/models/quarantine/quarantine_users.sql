-- Landing rows of `users` that break the contract, conflict or cannot be read,
-- with their text and reason (docs/CONTRACT.md §2).
{{ config(alias='users') }}

{{ quarantine_rows('users') }}
