"""intake: the only door into jeugdstroom. Authenticates senders, validates events, pseudonymises the
BSN and commits accepted events to the PostgreSQL outbox before answering 202."""
