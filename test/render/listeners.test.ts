// Every listener and accept rule comes from the model's lists (services and
// hostPorts), never from a port written in a renderer: move a port in the
// model and nginx, nftables and the cloud firewall follow, and nothing is
// left open on the old one.
import type { EdgeModel } from "../../model/model";
import { single } from "../../model/ports";
import { renderFirewallRules } from "../../render/firewall";
import { renderNftables } from "../../render/nftables";
import { renderNginxConf } from "../../render/nginx";
import { FACTS, model } from "../fixtures";

/** The model with http on 8080, https on 8443, SSH on 2202 and tailscaled on 41999 (ports no renderer knows). */
function moved(base: EdgeModel): EdgeModel {
  const at = (id: string, port: number) => (s: { id: string; ports: { from: number; to: number } }) => (s.id === id ? { ...s, ports: single(port) } : s);
  return {
    ...base,
    services: base.services.map(at("http", 8080)).map(at("https", 8443)) as EdgeModel["services"],
    hostPorts: base.hostPorts.map(at("ssh", 2202)).map(at("tailscaled", 41999)) as EdgeModel["hostPorts"],
  };
}

const listens = (conf: string) => [...conf.matchAll(/^\s*listen (?:\[::\]:)?(\d+)/gm)].map((m) => Number(m[1]));

test("nginx listens exactly on the services' ports", () => {
  const base = model();
  expect(new Set(listens(renderNginxConf(base, FACTS)))).toEqual(new Set([80, 443]));
  const conf = renderNginxConf(moved(base), FACTS);
  expect(new Set(listens(conf))).toEqual(new Set([8080, 8443]));
});

test("the input filter opens the moved ports and not the old ones", () => {
  const nft = renderNftables(moved(model()), FACTS);
  const input = nft.slice(nft.indexOf("chain input"), nft.indexOf("chain forward"));
  expect(input).toContain("ip saddr @ssh_allow_v4 tcp dport 2202 accept");
  expect(input).toContain("udp dport 41999 accept");
  expect(input).toMatch(/tcp dport \{ 8080 \}|tcp dport 8080 accept/);
  expect(input).toMatch(/tcp dport (\{ [^}]*8443[^}]*\}|8443) accept/);
  for (const old of [" 22 ", "41641", " 80 ", " 443 "]) expect(input).not.toContain(`dport${old}`);
});

test("SSH over the tailnet only: accepted on the tailnet interface, absent from the cloud firewall", () => {
  const m = moved(model({ sshAllowFrom: ["tailnet"] }));
  expect(renderNftables(m, FACTS)).toMatch(/iifname "tailscale0" tcp dport 2202 accept/);
  expect(renderNftables(m, FACTS)).not.toContain("ssh_allow");
  expect(renderFirewallRules(m).map((r) => r.port)).not.toContain("2202");
});

test("the cloud firewall has one rule per inbound port, with the host ports' sources", () => {
  const rules = renderFirewallRules(moved(model()));
  const ports = rules.map((r) => r.port);
  expect(ports).toEqual(expect.arrayContaining(["2202", "41999", "8080", "8443"]));
  for (const old of ["22", "41641", "80", "443"]) expect(ports).not.toContain(old);
  expect(rules.find((r) => r.port === "2202")?.sourceIps).toEqual(["203.0.113.0/24", "2001:db8:1234::/48"]);
});
