import { renderNftables } from "../../render/nftables";
import { FACTS, model } from "../fixtures";

const input = (o: Record<string, unknown> = {}) =>
  /chain input \{\n([\s\S]*?)\n\s+\}/.exec(renderNftables(model(o), FACTS))![1].split("\n").map((l) => l.trim());

test("new flows to coturn's UDP port: a rate straight through, then retransmissions only, then nothing; before coturn's accept rule", () => {
  const i = input();
  const at = i.findIndex((l) => l.startsWith("udp dport 3478 ct state new limit rate 200/second burst 400 packets accept"));
  expect(at).toBeGreaterThan(i.indexOf("ct state established,related accept"));
  expect(i.slice(at + 1, at + 6)).toEqual([
    'meta nfproto ipv4 udp dport 3478 ct state new ip saddr . udp sport @turn_first_v4 accept comment "coturn\'s new flows: beyond it, a retransmission"',
    'meta nfproto ipv6 udp dport 3478 ct state new ip6 saddr . udp sport @turn_first_v6 accept comment "coturn\'s new flows: beyond it, a retransmission"',
    'meta nfproto ipv4 udp dport 3478 ct state new add @turn_first_v4 { ip saddr . udp sport } counter drop comment "coturn\'s new flows: beyond it, a first packet (remembered)"',
    'meta nfproto ipv6 udp dport 3478 ct state new add @turn_first_v6 { ip6 saddr . udp sport } counter drop comment "coturn\'s new flows: beyond it, a first packet (remembered)"',
    'udp dport 3478 ct state new counter drop comment "coturn\'s new flows: beyond it, first packets a full set cannot remember"',
  ]);
  expect(i.findIndex((l) => l.startsWith("udp dport { 3478,"))).toBeGreaterThan(at + 5);
  expect(renderNftables(model(), FACTS)).toMatch(/set turn_first_v4 \{\n\s+type ipv4_addr \. inet_service; size 65536; flags dynamic,timeout; timeout 3s;/);
});

test("no coturn, no rules for its flows", () => {
  expect(renderNftables(model({ turn: "off" }), FACTS)).not.toContain("turn_first");
});
