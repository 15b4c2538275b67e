"""Pure helpers of the month end (no ``odoo`` import): periods and proration of fee items,
the exact sharing of an amount over weights."""
