-- Landing rows of `consent_changes`: raw text, typed values and invalid_reason.
{{ landing_base('consent_changes') }}
