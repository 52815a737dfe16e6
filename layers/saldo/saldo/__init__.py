"""Saldo: reporting for Nordic accounting data (the domain package shipped as a Lambda layer)."""

__version__ = "0.1.0"
