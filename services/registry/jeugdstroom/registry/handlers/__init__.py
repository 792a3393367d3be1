"""Pure handlers: a child's effective facts → its care-path state, and state → changes. No I/O here.

* ``facts`` — the fact and correction records every handler works on;
* ``correctie`` — which version of each event counts after corrections;
* ``aanmelding``, ``beschikking``, ``plaatsing``, ``separatie`` — one entity's episode from its facts;
* ``derived`` — links, herhaald, overplaatsing, achttien_in_pleegzorg and cross-entity findings;
* ``child`` — the child's birth date, gemeente and gemeente history;
* ``care_path`` — all of the above for one child, and the diff of two states (the changes to emit).
"""
