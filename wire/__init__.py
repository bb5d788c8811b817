"""The wire contract: the envelope every event travels in, its schema, and the hash chain.

The publisher writes it, the consumers and the read side read it, the rebuild and the auditors check
it: it sits below all of them, so none imports another to speak it. Imports ``domain`` only.
"""
