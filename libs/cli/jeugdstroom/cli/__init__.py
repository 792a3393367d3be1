"""The ``jeugdstroom`` command line: the only package that knows every service."""
