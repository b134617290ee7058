"""``keitrucks rules``: the state road rules for kei trucks, with their sources and ages."""

from __future__ import annotations

import datetime as dt
import json

import click

from keitrucks.common_cli import config_of, config_option
from keitrucks.core import states
from keitrucks.core.config_schema import state_code


@click.command()
@config_option()
@click.option(
    "--state", "only", metavar="XX", help="Only this state: its code (TN) or name (Tennessee)."
)
@click.option(
    "--stale",
    is_flag=True,
    help="Only rows to re-check: undated, or a source older than [buyer] stale_months.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per state.")
@click.pass_context
def rules(ctx: click.Context, only: str | None, stale: bool, as_json: bool) -> None:
    """Each state's road rules for kei trucks, with their sources.

    Each rule with its source, date and confidence. Guidance for a buyer, not a legal
    determination: rules change often. Low-confidence rows, undated or old sources and rules not
    yet in force say so. Override a row you have checked yourself in the configuration
    ([[buyer.rule_overrides]] with state, road_status, source_url, source_date, confidence).

    \b
    Example:
      keitrucks rules --state TN
    """
    config = config_of(ctx)
    buyer = config["buyer"]
    today = dt.datetime.now(dt.UTC).date()
    table = states.rules_with(buyer["rule_overrides"])
    if only:
        try:
            code = state_code(only)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--state") from None
        table = {code: table[code]}
    months = buyer["stale_months"]
    shown = 0
    for code in sorted(table):
        rule = table[code]
        if stale and not states.is_stale(rule, today=today, stale_months=months):
            continue
        view = states.view(rule, today=today, stale_months=months)
        shown += 1
        if as_json:
            row = states.rule_row(rule) | {"cautions": list(view.cautions)}
            click.echo(json.dumps(row, ensure_ascii=False))
            continue
        mine = "  <- your state" if code == buyer["state"] else ""
        click.echo(f"{view.line()}{mine}")
        if rule.source_url:
            click.echo(f"    {rule.source_url}")
    if not as_json:
        what = ("row" if shown == 1 else "rows") + " to re-check" if stale else "state"
        what += "s" if shown != 1 and not stale else ""
        click.echo(f"{shown} {what}. Guidance only: {states.CHECK_WITH_DMV}.")
