"""Every write to plans, their parts and their data: typed, atomic and logged."""
