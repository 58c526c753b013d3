-- Landing rows of `campaigns`: raw text, typed values and invalid_reason.
{{ landing_base('campaigns') }}
