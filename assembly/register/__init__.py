"""The register 业主名册: estates and their place in the district, units, owners, versions, rolls."""
