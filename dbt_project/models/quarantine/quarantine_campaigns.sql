{{ config(alias='campaigns') }}

{{ quarantine_rows('campaigns') }}
