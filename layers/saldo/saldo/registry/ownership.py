"""Computed beneficial ownership: who ultimately owns or controls a company, from the ownership graph.

The Danish register (CVR) records legal owners' capital and voting shares as ranges (5-9.99 %, ...,
90-100 %), so every share here is a range with a lower and an upper bound, and so is every result.

The rule, as the Danish Business Authority applies it (and the AML act, hvidvaskloven): the beneficial
owners are the natural persons who own or control more than 25 % of the capital or the votes, directly
or indirectly. An indirect share is the product of the shares along a chain of holdings; shares through
parallel chains add up. A person whose range lies wholly above 25 % qualifies; one whose range straddles
25 % possibly qualifies (the register cannot say more) and is reported as such. When nobody qualifies,
the management stands in. A listed company has no beneficial owners to register, nor has a company
wholly owned (100 %, directly or through wholly owned companies) by a listed one: their management is
registered instead.

Cycles (A owns B owns A) and owners that are companies missing from the registry are reported, never
followed: a chain never visits a company twice, and a missing company is a dead end.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

ZERO = Decimal(0)
ONE = Decimal(1)
THRESHOLD = Decimal("0.25")
# Enumerating chains is exponential in the worst case; real groups have a few dozen. Past this many
# chains the result is marked incomplete instead of running away.
MAX_CHAINS = 100_000
MAX_DEPTH = 25

# The register's ranges (lower bound as stored → the range it stands for).
CVR_RANGES: tuple[tuple[Decimal, Decimal], ...] = tuple(
    (Decimal(lo), Decimal(hi))
    for lo, hi in (
        ("0.05", "0.0999"),
        ("0.10", "0.1499"),
        ("0.15", "0.1999"),
        ("0.20", "0.2499"),
        ("0.25", "0.3332"),
        ("0.3333", "0.4999"),
        ("0.50", "0.6666"),
        ("0.6667", "0.8999"),
        ("0.90", "1"),
    )
)


@dataclass(frozen=True)
class Range:
    """A share as a closed interval of fractions (0.25 = 25 %)."""

    low: Decimal
    high: Decimal

    def __post_init__(self) -> None:
        if not ZERO <= self.low <= self.high:
            raise ValueError(f"not a share range: {self.low}..{self.high}")

    @classmethod
    def exact(cls, value: Decimal) -> Range:
        return cls(value, value)

    @classmethod
    def from_cvr(cls, stored: Decimal) -> Range:
        """The range a CVR ownership value stands for (the register stores a range's lower bound)."""
        for low, high in CVR_RANGES:
            if stored == low:
                return cls(low, high)
        if stored == Decimal("0.3334"):  # how some copies of the register write the 33.33 % band
            return cls(Decimal("0.3333"), Decimal("0.4999"))
        return cls.exact(stored)  # an exact figure, as other registers keep them

    def __mul__(self, other: Range) -> Range:
        return Range(self.low * other.low, self.high * other.high)

    def __add__(self, other: Range) -> Range:
        return Range(self.low + other.low, self.high + other.high)

    def capped(self) -> Range:
        """Nobody holds more than all of it, however the upper bounds of parallel chains add up."""
        return Range(min(self.low, ONE), min(self.high, ONE))

    def label(self) -> str:
        low, high = (
            f"{(v * 100).quantize(Decimal('0.01'))}".rstrip("0").rstrip(".") for v in (self.low, self.high)
        )
        return f"{low} %" if low == high else f"{low}-{high} %"


NOTHING = Range(ZERO, ZERO)


@dataclass(frozen=True)
class Holding:
    """`owner` holds `capital` and `votes` of `company` (either may be unknown: None)."""

    owner: str
    company: str
    capital: Range | None
    votes: Range | None


@dataclass(frozen=True)
class CompanyFacts:
    listed: bool = False
    management: tuple[str, ...] = ()  # person ids of the executive management (direktion)


class Qualification(StrEnum):
    QUALIFIES = "qualifies"  # the whole range is above the threshold
    POSSIBLE = "possible"  # the range straddles it
    MANAGEMENT = "management"  # stands in: nobody qualifies, or the company is exempt


@dataclass
class Chain:
    nodes: tuple[str, ...]  # person first, the company last
    capital: Range | None
    votes: Range | None


@dataclass
class BeneficialOwner:
    person: str
    capital: Range
    votes: Range
    basis: Qualification
    chains: list[Chain] = field(default_factory=list)


@dataclass
class OwnershipResult:
    company: str
    owners: list[BeneficialOwner]
    exempt_reason: str | None = None
    cycles: list[tuple[str, ...]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # owning companies not in the registry
    complete: bool = True


def _multiply(a: Range | None, b: Range | None) -> Range | None:
    return None if a is None or b is None else a * b


def chains_to(
    company: str, holdings: Iterable[Holding], is_person: Mapping[str, bool] | set[str]
) -> tuple[list[Chain], list[tuple[str, ...]], list[str], bool]:
    """Every chain from a natural person down to `company`, with the cycles and dead ends found.

    Walks up from the company: each step goes to an owner of the current company. A chain ends at a
    person; a company owner with no holdings registered is a dead end (missing), and an owner already on
    the chain closes a cycle.
    """
    owners_of: dict[str, list[Holding]] = defaultdict(list)
    for h in holdings:
        owners_of[h.company].append(h)
    persons = set(is_person) if not isinstance(is_person, Mapping) else {k for k, v in is_person.items() if v}
    chains: list[Chain] = []
    cycles: set[tuple[str, ...]] = set()
    missing: set[str] = set()
    complete = True
    # (current node, path from current down to the company, capital, votes); a stack, no recursion.
    stack: list[tuple[str, tuple[str, ...], Range | None, Range | None]] = [
        (company, (company,), Range.exact(ONE), Range.exact(ONE))
    ]
    while stack:
        node, path, capital, votes = stack.pop()
        for h in owners_of.get(node, ()):
            owner = h.owner
            if owner in path:  # owner → path[0] → ... → owner: a cycle, reported once in any rotation
                ring = path[: path.index(owner) + 1]
                start = ring.index(min(ring))
                cycles.add(ring[start:] + ring[:start] + (ring[start],))
                continue
            cap, vot = _multiply(h.capital, capital), _multiply(h.votes, votes)
            if owner in persons:
                if len(chains) >= MAX_CHAINS:
                    complete = False
                    continue
                chains.append(Chain((owner, *path), cap, vot))
            elif owner not in owners_of:
                missing.add(owner)
            elif len(path) >= MAX_DEPTH:
                complete = False
            else:
                stack.append((owner, (owner, *path), cap, vot))
    return chains, sorted(cycles), sorted(missing), complete


def wholly_owned_by_listed(
    company: str, holdings: Iterable[Holding], facts: Mapping[str, CompanyFacts]
) -> str | None:
    """The listed company that owns `company` wholly (directly or through wholly owned companies), if any."""
    owners_of: dict[str, list[Holding]] = defaultdict(list)
    for h in holdings:
        owners_of[h.company].append(h)
    seen = {company}
    frontier = [company]
    while frontier:
        current = frontier.pop()
        for h in owners_of.get(current, ()):
            if h.capital is None or h.capital.low < ONE or h.owner in seen:
                continue
            if facts.get(h.owner, CompanyFacts()).listed:
                return h.owner
            seen.add(h.owner)
            frontier.append(h.owner)
    return None


def beneficial_owners(
    company: str,
    holdings: Iterable[Holding],
    persons: set[str],
    facts: Mapping[str, CompanyFacts],
    threshold: Decimal = THRESHOLD,
) -> OwnershipResult:
    """The computed beneficial owners of `company` (see the module's docstring for the rule)."""
    holdings = list(holdings)
    own = facts.get(company, CompanyFacts())
    management = [BeneficialOwner(p, NOTHING, NOTHING, Qualification.MANAGEMENT) for p in own.management]
    if own.listed:
        return OwnershipResult(company, management, exempt_reason="listed company")
    parent = wholly_owned_by_listed(company, holdings, facts)
    if parent is not None:
        return OwnershipResult(company, management, exempt_reason=f"wholly owned by listed company {parent}")

    chains, cycles, missing, complete = chains_to(company, holdings, persons)
    by_person: dict[str, list[Chain]] = defaultdict(list)
    for chain in chains:
        by_person[chain.nodes[0]].append(chain)
    owners: list[BeneficialOwner] = []
    for person, its_chains in by_person.items():
        capital = sum((c.capital for c in its_chains if c.capital is not None), NOTHING).capped()
        votes = sum((c.votes for c in its_chains if c.votes is not None), NOTHING).capped()
        if capital.low > threshold or votes.low > threshold:
            basis = Qualification.QUALIFIES
        elif capital.high > threshold or votes.high > threshold:
            basis = Qualification.POSSIBLE
        else:
            continue
        owners.append(BeneficialOwner(person, capital, votes, basis, its_chains))
    owners.sort(key=lambda o: (o.basis != Qualification.QUALIFIES, -o.capital.high, -o.votes.high, o.person))
    if not owners:
        owners = management
    return OwnershipResult(company, owners, None, cycles, missing, complete)
