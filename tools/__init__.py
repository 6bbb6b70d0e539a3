"""The domain of crewcall: tables, state tables, the ledger, and one module of tools per area."""
