-- Landing rows of `users`: raw text, typed values and invalid_reason.
{{ landing_base('users') }}
