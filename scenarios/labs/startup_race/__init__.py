"""startup-race: services start before the broker is ready. Connection refused, then "coordinator not
available" while __consumer_offsets is created. A naive service dies; a patient one waits and retries."""

from scenarios.labs.startup_race.story import LAB

__all__ = ["LAB"]
