"""Events between features: domain events raised in a transaction, the outbox for work after commit,
and duties with deadlines (docs/architecture.md)."""
