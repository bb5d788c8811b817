"""The command side: the Ticket aggregate, its rules, SLA policies and business calendars.

Pure code: the standard library, ``eventsourcing`` and small pure libraries only; no I/O
except reading the policy files that ship with the package.
"""
