// DHCP replies reach the host only on its public interface: never from the
// tailnet (any member could answer), DHCPv6 only from the link.
import { forEdge } from "../../model/model";
import { renderNftables } from "../../render/nftables";
import { DEPLOY_KEY, FACTS, HOST_KEY, model, problems } from "../fixtures";

const dhcp = (nft: string) => nft.split("\n").filter((l) => /DHCP/.test(l)).map((l) => l.trim());
const existing = (host: Record<string, unknown>) => ({ existingHost: { address: "5.9.10.11", hostKey: HOST_KEY, ...host }, sshPublicKey: DEPLOY_KEY, sshPrivateKey: { secure: "x" } });

test("a server this stack creates: on eth0 only (Hetzner's images), DHCPv6 from link-local", () => {
  expect(dhcp(renderNftables(model(), FACTS))).toEqual([
    'iifname "eth0" udp sport 67 udp dport 68 accept comment "DHCPv4 replies"',
    'iifname "eth0" ip6 saddr fe80::/10 udp sport 547 udp dport 546 accept comment "DHCPv6 replies"',
  ]);
});

test("an existing host: on the publicInterface it names", () => {
  expect(dhcp(renderNftables(model(existing({ publicInterface: "ens3" })), FACTS))).toEqual([
    'iifname "ens3" udp sport 67 udp dport 68 accept comment "DHCPv4 replies"',
    'iifname "ens3" ip6 saddr fe80::/10 udp sport 547 udp dport 546 accept comment "DHCPv6 replies"',
  ]);
});

test("an existing host that does not name it: never from the tailnet", () => {
  expect(dhcp(renderNftables(model(existing({})), FACTS))).toEqual([
    'iifname != "tailscale0" udp sport 67 udp dport 68 accept comment "DHCPv4 replies"',
    'iifname != "tailscale0" ip6 saddr fe80::/10 udp sport 547 udp dport 546 accept comment "DHCPv6 replies"',
  ]);
});

test("each edge's own: a created edge eth0, an existing one its interface", () => {
  const m = model({ edges: [{ name: "a" }, { name: "b", existingHost: { address: "5.9.10.12", hostKey: HOST_KEY, publicInterface: "enp1s0" } }], sshPublicKey: DEPLOY_KEY, sshPrivateKey: { secure: "x" } });
  expect(dhcp(renderNftables(forEdge(m, 0), FACTS))[0]).toMatch(/^iifname "eth0" /);
  expect(dhcp(renderNftables(forEdge(m, 1), FACTS))[0]).toMatch(/^iifname "enp1s0" /);
});

test.each([["tailscale0"], ["lo"], ["eth0; accept"], ["a-name-longer-than-15"], [""]])("publicInterface %j is refused, naming the key and what is valid", (name) => {
  expect(problems(existing({ publicInterface: name }))).toEqual([
    expect.stringMatching(/^xmpp-edge:existingHost\.publicInterface: ".*" is not a public interface name; expected the host's interface with the public addresses .*e\.g\. "ens3"\), not lo or tailscale0$/),
  ]);
});
