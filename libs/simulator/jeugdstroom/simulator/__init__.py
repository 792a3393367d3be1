"""A realistic event stream for a region, with the indicators it must produce (``jeugdstroom simulate``)."""
