// The ruleset through nft itself: syntax (nft -c) and, in a scratch network
// namespace beside a tailscaled-like foreign table, loaded twice: same
// ruleset both times, foreign table untouched.
import * as fs from "node:fs";
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

// A DHCP-shaped datagram (UDP 67 -> 68) from a neighbour on eth0 reaches the
// host's DHCP client port; the same from the tailnet interface does not.
test("DHCP replies are accepted on the public interface only, not from tailscale0", () => {
  const dir = writePlan({});
  const file = path.join(dir, "vps/etc/xmpp-edge/xmpp-edge.nft");
  const listener = path.join(dir, "dhcp-listen.py");
  const sender = path.join(dir, "dhcp-send.py");
  fs.writeFileSync(listener, ["import socket, sys", "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)", "s.bind(('0.0.0.0', 68))", "s.settimeout(3)", "try:", "    while True: print(s.recv(100).decode(), flush=True)", "except socket.timeout: pass"].join("\n"));
  fs.writeFileSync(sender, ["import socket, sys", "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)", "s.bind((sys.argv[1], 67))", "s.sendto(sys.argv[3].encode(), (sys.argv[2], 68))"].join("\n"));
  const received = withNetns((edge) =>
    withNetns((peer) => {
      const setup = sh(
        [
          "set -e",
          `ip -n ${edge} link set lo up`,
          `ip -n ${edge} link add eth0 type veth peer name p0 netns ${peer}`,
          `ip -n ${edge} link add tailscale0 type veth peer name p1 netns ${peer}`,
          `ip -n ${edge} addr add 192.0.2.1/24 dev eth0 && ip -n ${edge} link set eth0 up`,
          `ip -n ${edge} addr add 100.90.0.1/24 dev tailscale0 && ip -n ${edge} link set tailscale0 up`,
          `ip -n ${peer} addr add 192.0.2.2/24 dev p0 && ip -n ${peer} link set p0 up`,
          `ip -n ${peer} addr add 100.90.0.2/24 dev p1 && ip -n ${peer} link set p1 up`,
          `ip netns exec ${edge} nft -f ${file}`,
        ].join("\n"),
      );
      expect(setup).toEqual({ status: 0, out: "" });
      const send = `sleep 0.5; ip netns exec ${peer} /usr/bin/python3 ${sender} 192.0.2.2 192.0.2.1 via-eth0; ip netns exec ${peer} /usr/bin/python3 ${sender} 100.90.0.2 100.90.0.1 via-tailscale0`;
      return sh(`(${send}) >/dev/null 2>&1 & ip netns exec ${edge} /usr/bin/python3 ${listener}`, 15000);
    }),
  );
  expect(received).toEqual({ status: 0, out: "via-eth0\n" });
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
