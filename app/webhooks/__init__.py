"""Outgoing webhooks: subscriptions, signed deliveries from the outbox, retries."""
