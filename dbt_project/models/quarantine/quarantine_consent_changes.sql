{{ config(alias='consent_changes') }}

{{ quarantine_rows('consent_changes') }}
