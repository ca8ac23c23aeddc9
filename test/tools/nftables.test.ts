// The ruleset through nft itself: syntax (nft -c) and, in a scratch network
// namespace beside a tailscaled-like foreign table, loaded twice: same
// ruleset both times, foreign table untouched.
import * as path from "node:path";
import { requireRoot, sh, VARIANTS, withNetns, writePlan } from "./helpers";

beforeAll(requireRoot);

const FOREIGN = `
table ip filter {
  chain ts-input { iifname "tailscale0" accept; }
  chain INPUT { type filter hook input priority filter; policy accept; jump ts-input; }
}
table ip nat {
  chain ts-postrouting { meta mark & 0x00ff0000 == 0x00040000 masquerade; }
  chain POSTROUTING { type nat hook postrouting priority srcnat; policy accept; jump ts-postrouting; }
}
`;

test.each(Object.entries(VARIANTS))("nft accepts, loads idempotently and coexists: %s", (_name, overrides) => {
  const file = path.join(writePlan(overrides), "vps/etc/xmpp-edge/xmpp-edge.nft");
  withNetns((ns) => {
    const run = (cmd: string) => sh(`ip netns exec ${ns} ${cmd}`);
    expect(run(`nft -c -f ${file}`)).toEqual({ status: 0, out: "" });
    expect(sh(`ip netns exec ${ns} nft -f - <<'EOF'\n${FOREIGN}\nEOF`)).toEqual({ status: 0, out: "" });
    const foreign = () => [run("nft list table ip filter").out, run("nft list table ip nat").out];
    const before = foreign();
    expect(run(`nft -f ${file}`)).toEqual({ status: 0, out: "" });
    const once = run("nft list ruleset").out;
    expect(run(`nft -f ${file}`)).toEqual({ status: 0, out: "" });
    expect(run("nft list ruleset").out).toBe(once);
    expect(foreign()).toEqual(before);
    expect(run("nft list tables").out.trim().split("\n").sort()).toEqual(["table inet xmpp_edge", "table ip filter", "table ip nat"]);
    expect(once).toContain("table inet xmpp_edge");
  });
});

test("nft -c catches a broken ruleset (the check can fail)", () => {
  const file = path.join(writePlan({}), "vps/etc/xmpp-edge/xmpp-edge.nft");
  const r = sh(`sed -i 's/masquerade/masqueradeX/' ${file} && unshare -n nft -c -f ${file}`);
  expect(r.status).not.toBe(0);
  expect(r.out).toMatch(/syntax error/);
});

test.each(Object.entries(VARIANTS))("the fallback table: nft accepts it, it replaces the ruleset's table and the ruleset replaces it back: %s", (_name, overrides) => {
  const dir = writePlan(overrides);
  const ruleset = path.join(dir, "vps/etc/xmpp-edge/xmpp-edge.nft");
  const fallback = path.join(dir, "vps/etc/xmpp-edge/xmpp-edge-fallback.nft");
  withNetns((ns) => {
    const run = (cmd: string) => sh(`ip netns exec ${ns} ${cmd}`);
    expect(run(`nft -c -f ${fallback}`)).toEqual({ status: 0, out: "" });
    expect(sh(`ip netns exec ${ns} nft -f - <<'EOF'\n${FOREIGN}\nEOF`)).toEqual({ status: 0, out: "" });
    const foreign = () => [run("nft list table ip filter").out, run("nft list table ip nat").out];
    const before = foreign();
    // Loaded with no table of ours (the boot unit failed before loading it), and over a loaded one.
    expect(run(`nft -f ${fallback}`)).toEqual({ status: 0, out: "" });
    const alone = run("nft list table inet xmpp_edge").out;
    expect(alone).toMatch(/chain input \{\n\s+type filter hook input priority filter; policy drop;/);
    expect(alone).not.toMatch(/dnat|masquerade/);
    expect(run(`nft -f ${ruleset}`)).toEqual({ status: 0, out: "" });
    expect(run("nft list table inet xmpp_edge").out).toMatch(/dnat/);
    expect(run(`nft -f ${fallback}`)).toEqual({ status: 0, out: "" });
    expect(run("nft list table inet xmpp_edge").out).toBe(alone);
    expect(foreign()).toEqual(before);
  });
});
