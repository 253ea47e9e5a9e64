"""The version, written once: packaging reads it from here, code from the package metadata."""
VERSION = "0.2.0"
