"""The law as pure functions: who is a member and with what area (rules), how ballots resolve
(ballots), the count and its file (tally), the notice period (notice) and the objection period
(challenge). No database, no web framework, no clock: every input is an argument."""
