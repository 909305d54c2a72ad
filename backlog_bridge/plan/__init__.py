"""Turn scored themes and the team's rules into a sprint plan."""
