"""Validates CycloneDX JSON BOMs with cyclonedx-python-lib's strict JSON validator.

    python cyclonedx_validate.py 1.6 bom.json [more.json ...]

Prints `valid FILE` for each valid BOM; exits 1 naming the first error of an invalid one.
"""

import sys

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

VERSIONS = {"1.6": SchemaVersion.V1_6}


def main() -> int:
    version, *files = sys.argv[1:]
    validator = JsonStrictValidator(VERSIONS[version])
    for path in files:
        with open(path, encoding="utf-8") as handle:
            error = validator.validate_str(handle.read())
        if error is not None:
            print(f"invalid {path}: {error}", file=sys.stderr)
            return 1
        print(f"valid {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
