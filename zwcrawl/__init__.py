"""zwcrawl: an archiving crawler for the Zaman al-Wasl news site."""

__version__ = "0.1.0"
