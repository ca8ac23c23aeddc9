import { formatRange } from "../../model/ports";
import { ANYWHERE, renderFirewallRules } from "../../render/firewall";
import { model } from "../fixtures";

test("opens exactly the planned ports, SSH only from sshAllowFrom", () => {
  const m = model({ extraForwards: [{ port: "6000-6010", protocol: "udp" }] });
  const rules = renderFirewallRules(m);
  const open = rules.filter((r) => r.protocol !== "icmp" && r.port !== "22" && r.port !== "41641").map((r) => `${r.port}/${r.protocol}`);
  expect(open.sort()).toEqual(m.services.map((s) => `${formatRange(s.ports)}/${s.protocol}`).sort());
  expect(open).toContain("6000-6010/udp");
  const ssh = rules.filter((r) => r.port === "22");
  expect(ssh).toEqual([expect.objectContaining({ protocol: "tcp", sourceIps: ["203.0.113.0/24", "2001:db8:1234::/48"] })]);
  expect(rules.filter((r) => r.port !== "22").every((r) => r.sourceIps === ANYWHERE)).toBe(true);
  expect(rules.every((r) => r.description.length <= 255)).toBe(true);
});

test("sshAllowFrom tailnet: no SSH rule at all", () => {
  expect(renderFirewallRules(model({ sshAllowFrom: ["tailnet"] })).some((r) => r.port === "22")).toBe(false);
});

test("turn off: no STUN/TURN or relay ports", () => {
  const ports = renderFirewallRules(model({ turn: "off" })).map((r) => r.port);
  expect(ports).not.toContain("3478");
  expect(ports).not.toContain("49152-65535");
});
