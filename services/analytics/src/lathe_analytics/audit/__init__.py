"""The audit trail: every domain event any service announces, stored immutably."""
