-- Landing rows of `sends`: raw text, typed values and invalid_reason.
{{ landing_base('sends') }}
