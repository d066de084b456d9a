"""The staff console (医院管理后台): server-rendered pages under ``/admin`` for hospital staff.

Jinja2 templates with htmx, ECharts for charts; every asset ships in this package (no Node.js to run
it). Pages are thin like endpoints: they parse a form, call the same services as the staff API, and
render a template. Logins are cookie sessions (``accounts.staff.sessions``) with a CSRF token checked on
every unsafe request; which role sees which page is one table (``nav.PAGES``).
"""
