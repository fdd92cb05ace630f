"""The essensys Connect emulator: telephony clients and call-log exports."""
