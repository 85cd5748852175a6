"""The two ways one delivery attempt can fail, as the worker must tell them apart.

A transient error means "the peer may accept this later": the worker retries with
:func:`pipeline.notify.backoff.next_delay`. A permanent error means "retrying cannot help until a
human changes something" (a revoked token, an unknown channel, a refused recipient, a forbidden
address): the worker dead-letters the delivery at once, so the error is visible instead of being
retried for an hour. Messages never contain secrets; they are stored on the delivery and shown by
the API and ``pressroom status``.
"""

from __future__ import annotations


class DeliveryError(Exception):
    """A notification could not be delivered on this attempt."""

    code = "delivery_failed"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())
        self.message = str(self)

    def as_dict(self) -> dict[str, str]:
        """What the store keeps on the delivery row and the API shows."""
        return {"code": self.code, "message": self.message}


class TransientDeliveryError(DeliveryError):
    """The peer is unreachable, slow, overloaded or rate limiting; try again later."""

    code = "delivery_transient"

    def __init__(self, message: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """The peer or the config rejects this notification; retrying will not help."""

    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class RouteError(ValueError):
    """The event cannot be routed (unknown type or missing job fields); a bug in the caller."""
