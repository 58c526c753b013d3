"""The dashboard's sections, one module each.

A section module has `KEY` (its container's key: CSS class `st-key-<KEY>`), `DEFAULTS`
(its widgets' keys and first values) and `render(marts, period)`, which draws it and returns
a short description of its settings for the page's last line (or ""). The page lists them
once, in order, in `orchestration/dashboard/app.py`.
"""
