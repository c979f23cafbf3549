"""mRNAProbe: linear probing of frozen nucleotide foundation models on mRNA tasks."""

__version__ = "0.1.0"


class MrnaProbeError(Exception):
    """A user-facing error: one line naming the file, row or config key at fault."""
