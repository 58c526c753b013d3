-- Landing rows of `interactions`: raw text, typed values and invalid_reason.
{{ landing_base('interactions') }}
