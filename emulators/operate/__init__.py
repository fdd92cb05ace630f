"""The essensys Operate emulator: workspace billing (accounts, codes, batch sheets)."""
