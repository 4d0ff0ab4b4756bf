"""The version both wheels of the project share."""

VERSION = "1.4.0"
