"""Which lead facts a rules file reads, so a form asks only the questions that can score.

Seed 004 二(四) judges a new project by its 县外投资比例 and, for 服务业, by the tax it paid:
a jurisdiction whose rules never read them (jiaocheng) should not be asked for them.
Pure: a :class:`RuleSet` in, plain answers out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from bot.rules.schema.models import Conditions, RuleSet


@dataclass(frozen=True)
class LeadFactUses:
    outside_share: bool  # some condition reads 县外投资比例 (min_outside_share)
    tax: bool  # some condition reads 税收 (min_tax_wan)
    # the industries whose tax matters (a tax condition's own or its parent's industries);
    # None: every industry (a tax condition without an industry)
    tax_industries: frozenset[str] | None = None

    def tax_for(self, industry: str | None) -> bool:
        """Whether a lead of ``industry`` can meet a tax condition (unknown industry: maybe)."""
        if not self.tax:
            return False
        return self.tax_industries is None or industry is None or industry in self.tax_industries


def _groups(rules: RuleSet) -> Iterator[tuple[Conditions, frozenset[str] | None]]:
    """Every condition set of the file with the industries it is limited to (an ``any_of``
    alternative without its own industries inherits its parent's)."""
    parents: list[Conditions] = [*rules.conditions.values(), *rules.rules]
    for parent in parents:
        outer = frozenset(parent.industries) if parent.industries is not None else None
        yield parent, outer
        for alt in getattr(parent, "any_of", None) or ():
            yield alt, frozenset(alt.industries) if alt.industries is not None else outer


def lead_fact_uses(rules: RuleSet) -> LeadFactUses:
    share = False
    tax = False
    industries: set[str] = set()
    every_industry = False
    for group, limited_to in _groups(rules):
        share = share or group.min_outside_share is not None
        if group.min_tax_wan is not None:
            tax = True
            if limited_to is None:
                every_industry = True
            else:
                industries |= limited_to
    if not tax:
        return LeadFactUses(share, False)
    return LeadFactUses(share, True, None if every_industry else frozenset(industries))
