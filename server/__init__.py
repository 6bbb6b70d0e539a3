"""The crewcall process: settings, storage, transports, workers and adapters."""
