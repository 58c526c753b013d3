{{ config(alias='sends') }}

{{ quarantine_rows('sends') }}
