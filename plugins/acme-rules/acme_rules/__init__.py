"""Example rule plugin: rules written in Python in their own package, registered through entry points."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_DOWN, Decimal

from pydantic import Field

from orchestrator.rules import Action, Output, Rule, RuleContext, RuleProps, SetAttributes


class LoyaltyPointsProps(RuleProps):
    points_per_unit: Decimal = Field(default=Decimal("1"), gt=0, description="Points per unit of currency.")
    amount_attribute: str = Field(default="total", description="The event attribute holding the amount.")


class LoyaltyPoints(Rule[LoyaltyPointsProps]):
    """Award loyalty points for the order's amount: sets the entity attribute ``loyaltyPoints``."""

    Props = LoyaltyPointsProps

    def run(self, ctx: RuleContext) -> Sequence[Action]:
        amount = Decimal(str(ctx.event.attributes.get(self.props.amount_attribute, 0)))
        points = int((amount * self.props.points_per_unit).to_integral_value(rounding=ROUND_DOWN))
        return (SetAttributes({"loyaltyPoints": points}), Output({"points": points}))


class CreditCheckProps(RuleProps):
    limit: Decimal = Field(gt=0, description="Orders above this amount are not approved on account.")


class CreditCheck(Rule[CreditCheckProps]):
    """Approve or refuse payment on account; the result is read by later conditions as ``result.approved``."""

    Props = CreditCheckProps

    def run(self, ctx: RuleContext) -> Sequence[Action]:
        amount = Decimal(str(ctx.entity.attributes.get("total", ctx.event.attributes.get("total", 0))))
        return (Output({"approved": amount <= self.props.limit, "amount": float(amount)}),)
