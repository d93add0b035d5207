"""The labs and the command line: wiring services to adapters by mode, running and replaying scenarios."""
