// The reader the config property trusts: it reads what the renderer writes,
// and refuses an accept rule it does not know rather than skipping it.
import { makePlan } from "../../render/plan";
import { BASE } from "../fixtures";
import { readRuleset } from "./ruleset-reader";

const nft = (o: Record<string, unknown> = {}) => makePlan({ ...BASE, ...o }).files["vps/etc/xmpp-edge/xmpp-edge.nft"];

test("reads SSH's sets, the services, DHCP replies and the DNAT sets", () => {
  const r = readRuleset(nft({ turnTcpRelay: true, extraForwards: [{ port: "7000-7002", protocol: "tcp" }, { port: 6000, protocol: "tcp", toPort: 6100 }] }));
  const ssh = r.input.filter((x) => x.protocol === "tcp" && x.ports.some((p) => p.from === 22));
  expect(ssh.map((x) => x.from)).toEqual([{ kind: "set", family: 4, elements: ["203.0.113.0/24"] }, { kind: "set", family: 6, elements: ["2001:db8:1234::/48"] }]);
  expect(r.input.find((x) => x.rule.includes("coturn: stun-turn-tcp"))).toMatchObject({ protocol: "tcp", ports: [{ from: 3478, to: 3478 }, { from: 49152, to: 65535 }], from: { kind: "anywhere" } });
  expect(r.input.find((x) => x.rule.includes("DHCPv4"))).toMatchObject({ protocol: "udp", ports: [{ from: 68, to: 68 }], from: { kind: "interface", name: "eth0" } });
  expect(r.input.find((x) => x.rule.includes("DHCPv6"))).toMatchObject({ protocol: "udp", ports: [{ from: 546, to: 546 }], from: { kind: "interface", name: "eth0", saddr: "fe80::/10" } });
  expect(r.dnat).toContainEqual({ protocol: "tcp", ports: { from: 7000, to: 7002 } });
  expect(r.dnat).toContainEqual({ protocol: "tcp", ports: { from: 6000, to: 6000 } });
  expect(readRuleset(nft({ sshAllowFrom: ["tailnet"] })).input.find((x) => x.ports.some((p) => p.from === 22))?.from).toEqual({ kind: "interface", name: "tailscale0" });
});

test("an accept rule it does not know is an error, not a rule skipped", () => {
  const text = nft().replace("tcp dport 80 accept", "tcp dport 80 counter accept");
  expect(() => readRuleset(text)).toThrow(/an accept rule in the input chain this reader does not know: tcp dport 80 counter accept/);
  expect(() => readRuleset(nft().replace('iif "lo" accept', "accept"))).toThrow(/does not know: accept/);
});
