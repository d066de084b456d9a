"""Operating a running installation: backups of its PostgreSQL database, restores, and the invariants a
restored (or any) database must keep. ``yiyue backup create | restore | verify`` (``commands.py``)."""
