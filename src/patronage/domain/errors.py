"""Errors raised when a command would break a domain rule."""


class DomainError(Exception):
    """A command that the domain refuses; the message says which rule and why."""


class RefundExceedsPaymentError(DomainError):
    pass


class DisputeMismatchError(DomainError):
    """A dispute that cannot be about its gift: another currency, or more than was paid."""


class CurrencyNotAcceptedError(DomainError):
    pass


class ReceiptAlreadyVoidError(DomainError):
    pass


class GiftAlreadyReceiptedError(DomainError):
    pass


class GiftNotReceiptableError(DomainError):
    pass


class MembershipEndedError(DomainError):
    pass


class InvalidEmailError(DomainError):
    pass
