"""Qt-free domain code: scanning, decoding, matching. Long work is a generator of Progress."""
