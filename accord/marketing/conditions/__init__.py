"""The condition language segments, reports and automation share.

    conditions = Conditions(org)        # inside the tenant scope
    tree = conditions.validate(tree)    # strict; InvalidInput names tree paths
    conditions.contacts(tree).count()   # one SQL COUNT
    conditions.describe(tree)           # "Lifecycle stage is Lead and ..."

Other apps add condition kinds with `register(SomeKind())`; see engine.py.
"""

from .engine import MAX_CONDITIONS, MAX_DEPTH, ConditionKind, Conditions, Param, register
from .types import Context, Operator, Shape, ValueType

__all__ = ["MAX_CONDITIONS", "MAX_DEPTH", "ConditionKind", "Conditions", "Context", "Operator",
           "Param", "Shape", "ValueType", "register"]
