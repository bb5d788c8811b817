"""The application: the desk that turns commands into stored events.

``TicketDesk`` (an eventsourcing ``Application``) loads a ticket, asks the domain's rules, and
appends the events atomically; ``commands`` is what services send (parsed into typed commands and
applied through one handler table); ``clock`` is the time the desk is given; ``policy_files`` reads
the desks' policy files into the domain's ``Catalogue``. Everything with I/O that the command side
needs lives here, so ``domain/`` stays pure. Imports ``domain`` only.
"""
