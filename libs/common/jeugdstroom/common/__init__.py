"""Shared building blocks of jeugdstroom: event contracts, settings, Kafka and PostgreSQL plumbing.

Nothing in here imports a service; every service imports from here.
"""
