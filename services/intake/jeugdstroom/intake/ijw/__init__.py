"""The iJw adapter: iJw 3.2 messages (JW315, JW301, JW305, JW307) in, jeugdstroom events out (docs/ijw.md).

``message`` parses and checks the XML, ``mapping`` maps products to care forms, ``convert`` derives events and
runs them through intake's own checks, ``route`` serves ``POST /v1/ijw``.
"""
