"""The store assistant: answers from the catalog and a walking route to a product (docs/OPERATIONS.md)."""
