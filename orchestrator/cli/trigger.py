"""`orchestrator send --sync`: a manual trigger through a worker's HTTP API (``POST /events?sync=true``),
and the execution report it answers with, rendered for people."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

import orjson

from orchestrator.model import Event
from orchestrator.model.report import ExecutionReport, RuleRun, RulesetRun

HTTP_SLACK_S = 10.0  # on top of the API's own wait, for the request itself


class TriggerError(RuntimeError):
    """The API could not be reached or refused the event; the message says why and what to do."""


def post_sync(api_url: str, event: Event, timeout: float) -> dict[str, Any]:
    """POST the event with ``?sync=true``; the execution report as JSON."""
    url = f"{api_url.rstrip('/')}/events?sync=true&timeout={timeout:g}"
    request = urllib.request.Request(url, data=event.to_json(), method="POST",
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout + HTTP_SLACK_S) as response:
            body: dict[str, Any] = orjson.loads(response.read())
            return body
    except urllib.error.HTTPError as exc:
        raise TriggerError(f"{exc.code} from POST {url}: {_error_of(exc.read())}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TriggerError(f"no worker API answers at {api_url} ({reason}): start a worker (`make run`), or point "
                           "--api (or ORCH_API_URL) at one") from None


def _error_of(body: bytes) -> str:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode(errors="replace").strip() or "(no body)"
    return str(data.get("error", data)) if isinstance(data, dict) else str(data)


def _value(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _actions(actions: list[dict[str, Any]]) -> str:
    return "; ".join(" ".join(f"{k} {_value(v)}" for k, v in action.items()) for action in actions)


def _rule_line(rule: RuleRun, width: int) -> str:
    if rule.skipped:
        return f"    {rule.id:<{width}}  {'':>7}  skipped: {rule.condition or 'its condition is false'}"
    took = f"{rule.duration_us}µs" if rule.duration_us is not None else ""
    detail = _actions(rule.actions)
    if rule.result is not None:
        detail += f"{'; ' if detail else ''}result {_value(rule.result)}"
    if rule.error:
        detail += f"{'; ' if detail else ''}error {rule.error}"
    return f"    {rule.id:<{width}}  {took:>7}  {detail}".rstrip()


def _ruleset_lines(ruleset: RulesetRun) -> list[str]:
    inline = f"  [inline {ruleset.event_name}]" if ruleset.inline else ""
    lines = [f"  ruleset {ruleset.name}{inline}  {ruleset.message}".rstrip()]
    width = max((len(r.id) for r in ruleset.rules), default=0)
    lines.extend(_rule_line(rule, width) for rule in ruleset.rules)
    return lines


def report_text(report: ExecutionReport) -> str:
    """The report as an indented listing: what matched, what ran, what changed, what was sent."""
    b, a = report.state_before, report.state_after
    lines = [
        f"{report.event_name} -> {report.entity_type} {report.entity_ref} (retailer {report.retailer_id}): "
        f"{report.outcome.value}   {b.status} v{b.version} -> {a.status} v{a.version}",
        f"  event {report.event_id} at {report.at.strftime('%Y-%m-%d %H:%M:%S.%f')[:-3]}  {report.message}",
    ]
    for ruleset in report.rulesets:
        lines.extend(_ruleset_lines(ruleset))
    lines.extend(f"  state   {c.from_status} -> {c.to_status}" for c in report.state_changes)
    for sent in report.events_sent:
        where = "inline" if sent.inline else f"to {sent.entity_type} {sent.entity_ref}"
        lines.append(f"  sent    {sent.name} {where}  id={sent.event_id}")
    lines.extend(f"  log     {c.message}" for c in report.custom)
    for error in report.errors:
        where = ", ".join(p for p in (error.after_ruleset and f"after ruleset {error.after_ruleset}",
                                      error.after_rule and f"rule {error.after_rule}") if p)
        lines.append(f"  error   {error.outcome.value}: {error.message}" + (f" ({where})" if where else ""))
    if not report.rulesets:
        lines.append("  no ruleset matched: nothing changed")
    lines.append(f"  rules took {report.total_duration_us}µs in all")
    return "\n".join(lines)
