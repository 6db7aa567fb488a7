"""Errors a user can act on.

Every error raised for bad input derives from ``ExplorerError`` and carries a message that says what
went wrong and what to do about it. The CLI prints these without a traceback; the app shows them.
"""

import errno

# OSError numbers that mean "no room to write": a full disk, or a user's quota used up.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})


def is_disk_full(err: BaseException) -> bool:
    return isinstance(err, OSError) and err.errno in DISK_FULL_ERRNOS


class ExplorerError(Exception):
    """Base class for errors whose message is meant for the user."""


class DataError(ExplorerError, ValueError):
    """A dataset could not be read: corrupt file, wrong shape, bad checksum, unknown name."""


class DatasetNotFoundError(DataError):
    """A dataset is not on this machine and could not be downloaded (for example when offline)."""


class CheckpointError(ExplorerError, ValueError):
    """A folder is not a Latent Explorer checkpoint, or its files do not agree with each other."""


class TrainingError(ExplorerError, RuntimeError):
    """Training stopped: a non-finite loss, or a run that cannot be resumed."""
