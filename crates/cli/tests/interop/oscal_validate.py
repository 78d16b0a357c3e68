"""Validates OSCAL JSON documents with two independent validators (the tests run a third,
oscal-validate, which needs a newer Python, from its own venv).

    python oscal_validate.py FILE [FILE ...]

compliance-trestle loads each document into its OSCAL models; the `oscal` package validates it
against NIST's metaschema. Prints `valid VALIDATOR FILE` for each; exits 1 naming every
document a validator refuses.
"""

import json
import pathlib
import sys

import oscal
from trestle.oscal.assessment_results import AssessmentResults
from trestle.oscal.catalog import Catalog
from trestle.oscal.component import ComponentDefinition
from trestle.oscal.mapping import MappingCollection
from trestle.oscal.poam import PlanOfActionAndMilestones
from trestle.oscal.profile import Profile
from trestle.oscal.ssp import SystemSecurityPlan

TRESTLE = {
    "catalog": Catalog,
    "component-definition": ComponentDefinition,
    "assessment-results": AssessmentResults,
    "plan-of-action-and-milestones": PlanOfActionAndMilestones,
    "profile": Profile,
    "system-security-plan": SystemSecurityPlan,
    "mapping-collection": MappingCollection,
}
OSCAL = {
    "catalog": oscal.Catalog,
    "component-definition": oscal.ComponentDefinition,
    "assessment-results": oscal.AssessmentResults,
    "plan-of-action-and-milestones": oscal.POAM,
    "profile": oscal.Profile,
    "system-security-plan": oscal.SSP,
    "mapping-collection": oscal.Mapping,
}


def main() -> int:
    failed = 0
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as handle:
            root = next(iter(json.load(handle)))
        try:
            TRESTLE[root].oscal_read(pathlib.Path(path))
            print(f"valid trestle {path}")
        except Exception as error:  # noqa: BLE001 - any refusal is the answer
            print(f"invalid trestle {path}: {error}", file=sys.stderr)
            failed = 1
        document = OSCAL[root].load(path)
        if document.is_valid:
            print(f"valid oscal {path}")
        else:
            print(f"invalid oscal {path}", file=sys.stderr)
            failed = 1
    return failed


if __name__ == "__main__":
    sys.exit(main())
