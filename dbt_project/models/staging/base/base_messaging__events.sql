-- Landing rows of `events`: raw text, typed values and invalid_reason.
{{ landing_base('events') }}
