"""The landed-cost rules and the breakdown they make: ``keitrucks/core/data/landed_rules.csv``.

Each row is one rule (duty, tariff layer, fee, freight, insurance, inland haul) with its value,
unit, period of validity, kind (truck / van), age condition, source, source date and
confidence. ``rules_in_force`` picks the rows of a day; ``layer_parts`` turns the duty, the tariff
layers and the fees into ``Part`` lines of the breakdown, each citing its rule. Rules of
confidence ``uncertain`` are named in the breakdown and left out of the total. A new tariff layer
or fee is a new row: only ``duty``, ``ocean_freight_usd`` and ``insurance_pct`` are read by name.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from typing import Any, NamedTuple

from keitrucks.core import tables

#: Confidence of a rule that is shown in the breakdown but left out of the total.
UNCERTAIN = "uncertain"

#: Rules ``landed_cost`` reads itself; every other rule is a generic layer or fee by its unit.
_SPECIAL = frozenset({"duty", "ocean_freight_usd", "insurance_pct"})


# -- the rules ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Rule:
    """One row of ``landed_rules.csv``: a value in force from ``valid_from`` to ``valid_to``.
    Compared (and cached on) by identity: each is made once per process."""

    name: str
    #: truck, van or any.
    kind: str
    #: "under_25" / "25_plus" calendar years between build and entry, "" for any age.
    age: str
    value: float | None
    #: pct (of the customs value), pct_all_in, pct_cnf or usd.
    unit: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    label: str
    reference: str
    source: str
    source_date: str
    confidence: str
    note: str = ""

    def in_force(self, on: dt.date) -> bool:
        return (self.valid_from is None or self.valid_from <= on) and (
            self.valid_to is None or on <= self.valid_to
        )

    @property
    def age_under(self) -> bool:
        return self.age.startswith("under")

    def fits_age(self, age_years: int) -> bool:
        limit = _age_limit(self.age)
        return age_years < limit if self.age_under else age_years >= limit


@cache
def _age_limit(age: str) -> int:
    """25 from "under_25" or "25_plus"."""
    return int(re.sub(r"\D", "", age))


def _date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


@cache
def landed_rules() -> tuple[Rule, ...]:
    """Every rule of ``keitrucks/core/data/landed_rules.csv``, in file order."""
    return tuple(
        Rule(
            name=row["name"],
            kind=row["kind"] or "any",
            age=row["age"],
            value=float(row["value"]) if row["value"] else None,
            unit=row["unit"],
            valid_from=_date(row["valid_from"]),
            valid_to=_date(row["valid_to"]),
            label=row["label"],
            reference=row["reference"],
            source=row["source"],
            source_date=row["source_date"],
            confidence=row["confidence"],
            note=row["note"],
        )
        for row in tables.read_rows("landed_rules.csv")
    )


@dataclass(frozen=True, eq=False)
class RuleSet:
    """The rules in force on a day for a kind, by name, and the plan of ``layer_parts``."""

    by_name: Mapping[str, Rule]
    #: every rule after the duty, in table order: (rule, its min rule, its max rule, note).
    layers: tuple[tuple[Rule, Rule | None, Rule | None, str], ...]

    def __getitem__(self, name: str) -> Rule:
        return self.by_name[name]

    def __iter__(self):
        return iter(self.by_name)

    def get(self, name: str) -> Rule | None:
        return self.by_name.get(name)


def rules_in_force(on: dt.date, kind: str, overrides: Mapping[str, Any] | None = None) -> RuleSet:
    """The rule of each name in force on ``on`` for a "truck" or a "van" (a rule for the kind
    beats one for any kind); ``overrides`` (rule name -> value) replace values, sourced to the
    configuration."""
    numbers = tuple(
        sorted((k, float(v)) for k, v in (overrides or {}).items() if isinstance(v, int | float))
    )
    return _rules_in_force(on, kind, numbers)


@lru_cache(maxsize=1 << 12)
def _rules_in_force(on: dt.date, kind: str, overrides: tuple[tuple[str, float], ...]) -> RuleSet:
    out: dict[str, Rule] = {}
    for rule in landed_rules():
        fits = rule.in_force(on) and rule.kind in (kind, "any")
        if fits and (rule.name not in out or rule.kind == kind):
            out[rule.name] = rule
    for name, value in overrides:
        if name in out:
            out[name] = replace(
                out[name],
                value=value,
                source=f"your configuration ([landed] {name})",
                source_date="",
                confidence="user",
                note="",
            )
    return RuleSet(out, _plan(out))


def _plan(rules: Mapping[str, Rule]) -> tuple[tuple[Rule, Rule | None, Rule | None, str], ...]:
    bounds = {n[:-4] for n in rules if n.endswith(("_min", "_max"))}
    plan = []
    for name, rule in rules.items():
        if name in _SPECIAL or (name.endswith(("_min", "_max")) and name[:-4] in bounds):
            continue
        low, high = rules.get(f"{name}_min"), rules.get(f"{name}_max")
        note = "; ".join(r.note for r in (rule, low, high) if r is not None and r.note)
        if not note and low is not None and high is not None:
            note = f"min ${low.value:,.2f}, max ${high.value:,.2f} ({low.reference})"
        plan.append((rule, low, high, note))
    return tuple(plan)


def rule_names() -> frozenset[str]:
    return frozenset(rule.name for rule in landed_rules())


# -- the breakdown ------------------------------------------------------------------------------


class Part(NamedTuple):
    """One line of the breakdown: an amount and the rule (or input) it comes from."""

    name: str
    label: str
    amount_usd: int
    #: the rate or amount as the rule states it ("25 %", "$295", "15 % all-in").
    rate: str = ""
    reference: str = ""
    source: str = ""
    source_date: str = ""
    confidence: str = ""
    #: why the amount is left out of the total ("uncertain, not included"); "" when counted.
    excluded: str = ""
    note: str = ""

    @property
    def included(self) -> bool:
        return not self.excluded

    def describe(self) -> str:
        """ "duty 25 % (HTS 8704.31, CBP NY N340640, 2024)", with why it is not included."""
        year = self.source_date[:4]
        cited = ", ".join(x for x in (self.reference, self.source, year) if x)
        text = " ".join(x for x in (self.label, self.rate) if x)
        text += f" ({cited})" if cited else ""
        return f"{text}; {self.excluded}" if self.excluded else text


@cache
def rate_text(rule: Rule) -> str:
    if rule.value is None:
        return ""
    number = f"{rule.value:g}"
    return {
        "usd": f"${rule.value:,.2f}".removesuffix(".00"),
        "pct_all_in": f"{number} % all-in",
        "pct_cnf": f"{number} % of C&F",
    }.get(rule.unit, f"{number} %")


def rule_part(rule: Rule, amount: float, excluded: str = "", note: str | None = None) -> Part:
    """The rule's line of the breakdown with this amount (uncertain rules are not included)."""
    t = _template(rule)
    return Part(
        t.name,
        t.label,
        round(amount),
        t.rate,
        t.reference,
        t.source,
        t.source_date,
        t.confidence,
        excluded or t.excluded,
        t.note if note is None else note,
    )


@cache
def _template(rule: Rule) -> Part:
    uncertain = rule.confidence == UNCERTAIN or rule.value is None
    return Part(
        name=rule.name,
        label=rule.label,
        amount_usd=0,
        rate=rate_text(rule),
        reference=rule.reference,
        source=rule.source,
        source_date=rule.source_date,
        confidence=rule.confidence,
        excluded="uncertain, not included" if uncertain else "",
        note=rule.note,
    )


def layer_parts(
    rules: RuleSet, dutiable: float, age_years: int | None
) -> tuple[list[Part], list[str]]:
    """The duty, the extra tariff layers and the fees, in the order of the rules table, and notes.

    A layer for one age (Section 232 under 25 years, IEEPA over) applies only to that age; with
    the build year unknown it is named but not included. A ``pct`` rule with ``<name>_min`` /
    ``<name>_max`` rules in force (the MPF) is held between them."""
    duty = rules["duty"]
    mfn = duty.value or 0.0
    parts = [rule_part(duty, dutiable * mfn / 100)]
    notes: list[str] = []
    for rule, low, high, note in rules.layers:
        value = rule.value or 0.0
        if rule.unit == "usd":
            amount = value
        elif rule.unit == "pct_all_in":
            amount = dutiable * max(0.0, value - mfn) / 100
        else:
            amount = dutiable * value / 100
        if low is not None and low.value is not None:
            amount = max(amount, low.value)
        if high is not None and high.value is not None:
            amount = min(amount, high.value)
        excluded = ""
        if rule.age and age_years is None:
            excluded = "build year unknown, not included"
        elif rule.age and not rule.fits_age(age_years):
            if rule.age_under:
                notes.append(f"{rule.name}_exempt")
            continue
        part = rule_part(rule, amount, excluded, note)
        if rule.age and part.included and part.amount_usd:
            notes.append(rule.name)
        parts.append(part)
    return parts, notes
