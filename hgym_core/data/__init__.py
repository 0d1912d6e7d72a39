"""The data layer: schema, validation, transforms, encoding, the built-in cohort and table files."""
