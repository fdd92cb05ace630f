"""The emulated ECI e-automate PublicAPI."""
