"""The brands X ingestion listens for (config/x_rules.yaml) and the filtered-stream rules they make.

The file is the whole rule set: `plan_rule_changes` deletes every rule on the app's stream
that the file does not hold, so what is ingested is always what the file says.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tweetcare.core.errors import UserError, describe_validation
from tweetcare.tickets.routing import load_yaml, resolve_config

RULE_TAG_PREFIX = "tweetcare:"
# X's limit on one rule's length for the Basic and Pro tiers is 512 characters (1024 Enterprise)
DEFAULT_MAX_RULE_LENGTH = 512


class BrandRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    handle: str = Field(pattern=r"^[A-Za-z0-9_]+$", description="without the @")
    keywords: list[str] = Field(default_factory=list)


class XRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    brands: list[BrandRule] = Field(min_length=1)
    exclude_retweets: bool = True
    max_rule_length: int = Field(default=DEFAULT_MAX_RULE_LENGTH, gt=0)

    @property
    def handles(self) -> list[str]:
        return [brand.handle for brand in self.brands]

    def stream_rules(self) -> list[dict[str, str]]:
        """One rule per brand: tweets to, from or mentioning it, or carrying its keywords."""
        rules = []
        for brand in self.brands:
            value = rule_value(brand, self.exclude_retweets)
            if len(value) > self.max_rule_length:
                raise UserError(
                    f"the X rule for @{brand.handle} is {len(value)} characters, over the "
                    f"{self.max_rule_length} X allows: shorten its keywords in the rules file"
                )
            rules.append({"value": value, "tag": f"{RULE_TAG_PREFIX}{brand.handle}"})
        return rules


def rule_value(brand: BrandRule, exclude_retweets: bool = True) -> str:
    """`(@H OR from:H OR to:H OR "kw" ...) -is:retweet` in X's rule syntax."""
    terms = [f"@{brand.handle}", f"from:{brand.handle}", f"to:{brand.handle}"]
    terms += [f'"{kw}"' if " " in kw else kw for kw in (k.strip() for k in brand.keywords) if kw]
    value = f"({' OR '.join(terms)})"
    return f"{value} -is:retweet" if exclude_retweets else value


def load_x_rules(path: Path) -> XRules:
    """Parse and check the rules file; any problem is one clear `UserError`."""
    try:
        return XRules.model_validate(load_yaml(path, "X rules"))
    except ValidationError as err:
        raise UserError(
            f"bad X rules in {resolve_config(path)}: {describe_validation(err)}"
        ) from err


def plan_rule_changes(
    existing: list[dict[str, str]], wanted: list[dict[str, str]]
) -> tuple[list[dict[str, str]], list[str]]:
    """(rules to add, ids of rules to delete) that turn `existing` into `wanted`, by value+tag."""
    have = {(rule["value"], rule.get("tag", "")): rule["id"] for rule in existing}
    want = {(rule["value"], rule["tag"]) for rule in wanted}
    add = [rule for rule in wanted if (rule["value"], rule["tag"]) not in have]
    delete = [rule_id for key, rule_id in have.items() if key not in want]
    return add, delete
