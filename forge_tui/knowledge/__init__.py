"""Knowledge layer: classifier, decision/thread registries, conflict policy, decay,
pattern store, scratchpad and real-time extraction. No UI imports here."""
