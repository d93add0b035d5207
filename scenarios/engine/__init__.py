"""The lab engine: the story model (steps, phases, stages, scripts), the runner that plays a phase on
a World, the Observation it yields, the checks library, knobs, and recording + replay. It knows the
World interface (engine.world) and nothing of how either world is built."""
