"""Issue-3 examples on the stack `make run` starts: an order fans out into fulfilments and completes on the
join, a high-value order takes the fraud branch, low stock raises a purchase order, and someone else's
workflow (conditions, else, a code rule, a webhook) behaves as written — webhook signed and audited."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import Stack, event, publish

from orchestrator.adapters.servers import free_port

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SECRET = "e2e-webhook-secret"


class Crm:
    """A local HTTP receiver that records each webhook request and whether its signature verifies."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        crm = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stamp = self.headers.get("X-Orchestrator-Timestamp", "")
                expected = hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
                crm.requests.append({"path": self.path, "body": json.loads(body),
                                     "signed": self.headers.get("X-Orchestrator-Signature") == f"sha256={expected}"})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def crm() -> Iterator[Crm]:
    receiver = Crm()
    yield receiver
    receiver.server.shutdown()


@pytest.fixture(scope="module")
def stack_env(crm: Crm, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("thirdparty")
    text = (ROOT / "tests/fixtures/workflows/thirdparty/returns.json").read_text()
    (folder / "returns.json").write_text(text.replace("{{CRM_PORT}}", str(crm.port)))
    return {"ORCH_WEBHOOK_SECRET": SECRET, "EXTRA_RULESETS": str(folder)}


async def test_an_order_fans_out_per_line_group_and_completes_on_the_join(stack: Stack) -> None:
    order = f"O-{uuid.uuid4().hex[:8]}"
    groups = [{"group": "A", "lines": [{"sku": "S-1", "qty": 1}]}, {"group": "B", "lines": [{"sku": "S-2", "qty": 2}]}]
    await publish(stack, event("CREATE", "ORDER", order, entitySubtype="HD",
                               attributes={"total": 99, "lineGroups": groups}))
    for ref in (f"{order}-A", f"{order}-B"):
        stack.wait_status("FULFILMENT", ref, "AWAITING_PICK")
    steps = ["Picking", "Packed", "CourierBooked", "Shipped", "Delivered"]
    await publish(stack, *(event(s, "FULFILMENT", f"{order}-A", root=order) for s in steps))
    stack.wait_status("FULFILMENT", f"{order}-A", "DELIVERED")
    shipped = stack.wait_status("ORDER", order, "SHIPPED")
    assert shipped["status"] == "SHIPPED", "one fulfilment delivered of two: the join waits"
    await publish(stack, *(event(s, "FULFILMENT", f"{order}-B", root=order) for s in steps))
    stack.wait_status("ORDER", order, "COMPLETE")


async def test_a_high_value_order_takes_the_fraud_branch(stack: Stack) -> None:
    order = f"O-{uuid.uuid4().hex[:8]}"
    await publish(stack, event("CREATE", "ORDER", order, entitySubtype="HD", attributes={"total": 2500}))
    stack.wait_status("ORDER", order, "FRAUD_CHECK")
    audit = stack.cli_json("audit", "ORDER", order, "--retailer", "1")
    assert any(r["category"] == "CUSTOM" and "held for a fraud check" in r["message"] for r in audit)
    await publish(stack, event("FraudCheckPassed", "ORDER", order))
    stack.wait_status("ORDER", order, "BOOKED")
    stack.wait_status("FULFILMENT", f"{order}-F1", "AWAITING_PICK")


async def test_stock_below_its_minimum_raises_a_purchase_order(stack: Stack) -> None:
    sku = f"SKU-{uuid.uuid4().hex[:6]}"
    await publish(stack, event("StockCheck", "INVENTORY", sku, entitySubtype="DEFAULT",
                               attributes={"onHand": 3, "minimum": 10}))
    stack.wait_status("INVENTORY", sku, "REORDER_PENDING")
    po = stack.wait_status("PURCHASE_ORDER", f"{sku}-PO0", "REQUESTED")
    assert po["attributes"] == {"sku": sku, "quantity": 17}


async def test_someone_elses_workflow_with_conditions_else_code_and_webhook(stack: Stack, crm: Crm) -> None:
    big, small = f"R-{uuid.uuid4().hex[:6]}", f"R-{uuid.uuid4().hex[:6]}"
    await publish(stack, event("CREATE", "RETURN_ORDER", big, retailer="3", entitySubtype="DEFAULT",
                               attributes={"value": 480}),
                  event("CREATE", "RETURN_ORDER", small, retailer="3", entitySubtype="DEFAULT",
                        attributes={"value": 80, "opened": True}))
    stack.wait_status("RETURN_ORDER", big, "MANUAL_REVIEW", retailer="3")
    approved = stack.wait_status("RETURN_ORDER", small, "APPROVED", retailer="3")
    assert approved["attributes"]["refund"] == "72.00"
    [hook] = stack.wait_for("the CRM webhook", lambda: [r for r in crm.requests if r["path"].endswith(big)])
    assert hook["signed"] and hook["body"]["entity"]["status"] == "MANUAL_REVIEW"

    def webhook_audited() -> list[dict[str, Any]]:
        records = stack.cli_json("audit", "RETURN_ORDER", big, "--retailer", "3")
        return [r for r in records if r["name"] == "Webhook" and r["status"] == "SUCCESS"]

    assert stack.wait_for("the webhook's audit record", webhook_audited)


def test_send_sync_returns_the_execution_report(stack: Stack) -> None:
    order = f"O-{uuid.uuid4().hex[:8]}"
    reports = stack.cli_json("send", "CREATE", "--retailer", "1", "--entity-type", "ORDER", "--subtype", "HD",
                             "--ref", order, "--attr", "total=10", "--sync")
    [report] = reports
    assert report["outcome"] == "SUCCESS" and report["stateAfter"]["status"] == "BOOKED"
    assert [rs["name"] for rs in report["rulesets"]][:2] == ["CREATE", "BookOrder"]
