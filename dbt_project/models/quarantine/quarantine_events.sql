{{ config(alias='events') }}

{{ quarantine_rows('events') }}
