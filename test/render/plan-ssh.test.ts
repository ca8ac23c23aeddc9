// PLAN.md's SSH line is read off the model: the SSH host port's sources and
// every other rule that covers it. The checks refuse such an overlap; a model
// built past them shows the line saying what the ruleset would open.
import { buildModel } from "../../model/model";
import { validateConfig } from "../../model/validate";
import { makePlan } from "../../render/plan";
import { renderPlanMd } from "../../render/plan-md";
import { BASE, DEPLOY_KEY, FACTS, HOST_KEY } from "../fixtures";

const KEYS = { sshPublicKey: DEPLOY_KEY, sshPrivateKey: { secure: "x" } };
const sshLine = (md: string) => md.split("\n").filter((l) => l.startsWith("SSH"));

test("accepted configs: SSH from sshAllowFrom, or the tailnet only, on each edge's own port", () => {
  expect(sshLine(makePlan(BASE).files["PLAN.md"])).toEqual(["SSH: 22/tcp from 203.0.113.0/24, 2001:db8:1234::/48."]);
  expect(sshLine(makePlan({ ...BASE, sshAllowFrom: ["tailnet"] }).files["PLAN.md"])).toEqual(["SSH: 22/tcp from the tailnet only (closed on the public addresses; deploys go over the tailnet)."]);
  const two = makePlan({ ...BASE, ...KEYS, edges: [{ name: "a" }, { name: "b", existingHost: { address: "5.9.10.12", hostKey: HOST_KEY, port: 50022 } }] });
  expect(sshLine(two.files["PLAN.md"])).toEqual(["SSH: edge `a` 22/tcp from 203.0.113.0/24, 2001:db8:1234::/48; edge `b` 50022/tcp from 203.0.113.0/24, 2001:db8:1234::/48."]);
});

test("a model past the checks, with a TCP relay range over SSH: the line says anyone reaches it, and through what", () => {
  const accepted = validateConfig({ ...BASE, ...KEYS, existingHost: { address: "5.9.10.11", hostKey: HOST_KEY, port: 2222 } });
  const hostile = buildModel({ ...accepted, turnTcpRelay: true, turnRelayPorts: { from: 2000, to: 2300 } });
  expect(sshLine(renderPlanMd(hostile, FACTS, [], undefined, []))).toEqual([
    "SSH: 2222/tcp from 203.0.113.0/24, 2001:db8:1234::/48, and anyone through 2000-2300/tcp (turn-relay-tcp: TURN TCP relay ports (RFC 6062, turnTcpRelay)).",
  ]);
});

test("a model past the checks, with a later edge's SSH port in the TCP relay range: that edge's part says so", () => {
  const accepted = validateConfig({ ...BASE, ...KEYS, turnRelayPorts: "50000-50999", edges: [{ name: "a" }, { name: "b", existingHost: { address: "5.9.10.12", hostKey: HOST_KEY, port: 50022 } }] });
  const hostile = buildModel({ ...accepted, turnTcpRelay: true });
  expect(sshLine(renderPlanMd(hostile, FACTS, [], undefined, []))).toEqual([
    "SSH: edge `a` 22/tcp from 203.0.113.0/24, 2001:db8:1234::/48; edge `b` 50022/tcp from 203.0.113.0/24, 2001:db8:1234::/48, and anyone through 50000-50999/tcp (turn-relay-tcp: TURN TCP relay ports (RFC 6062, turnTcpRelay)).",
  ]);
});
