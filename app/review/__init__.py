"""The intended-critique check: authors review what labelers found."""
