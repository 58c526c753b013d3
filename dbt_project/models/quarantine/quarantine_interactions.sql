{{ config(alias='interactions') }}

{{ quarantine_rows('interactions') }}
