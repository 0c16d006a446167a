"""The ground floor: what every layer of the project may use (errors, input files)."""
