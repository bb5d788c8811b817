"""The ticket's rules: the Ticket aggregate, its events and their one evolve, SLA policies, calendars.

Pure code: the standard library, ``eventsourcing.domain`` and small pure libraries only. It reads no
files, no clock and no environment: the application (``application/``) reads the policy files, holds
the clock and stores the events.
"""
