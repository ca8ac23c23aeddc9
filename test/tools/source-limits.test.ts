// The per-source limits in the kernel when their sets are full: the rendered
// ruleset with its per-source sets shrunk to 2 elements (so 2 sources fill
// them), 5 sources each opening 80 connections to 443. The two sources the
// sets hold get 64 each; the two they cannot hold from the same /16 get 64
// together, and the one from another /16 its own 64. Without the overflow
// rules (the check can fail) those three get all of theirs.
import * as fs from "node:fs";
import * as path from "node:path";
import { SOURCE_LIMITS } from "../../model/ports";
import { OVERFLOW_COMMENT, SET_SIZE, SITE_COMMENT } from "../../render/source-limits";
import { requireRoot, sh, withNetns, writePlan } from "./helpers";

beforeAll(requireRoot);

/** The last one in another /16 than the others. */
const SOURCES = ["192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.14", "198.51.100.15"];
const PER_SOURCE = 80;

/**
 * Ten /64s of one /48, 30 connections each: each under a /64's limit (64),
 * together over the /48's, shrunk like the sets to SITE_CONNECTIONS.
 */
const SITE_SOURCES = Array.from({ length: 10 }, (_, i) => `2001:db8:1:${i + 1}::10`);
const SITE_PER_SOURCE = 30;
const SITE_CONNECTIONS = 128;
const siteShrunk = (t: string) => t.replace(`ct count over ${SOURCE_LIMITS.ipv6SiteSources * SOURCE_LIMITS.connections} `, `ct count over ${SITE_CONNECTIONS} `);

const LISTENER = ["import socket, time", "s = socket.socket()", "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)", "s.bind(('192.0.2.1', 443))", "s.listen(4096)", "time.sleep(30)"].join("\n");
// Non-blocking connects, all at once; after 2 s (before the SYN retry at 3 s
// could bring more), the established ones per source.
const CONNECTOR = `import json, select, socket, sys, time
socks = {}
for src in sys.argv[2:]:
    for i in range(${PER_SOURCE}):
        s = socket.socket()
        s.setblocking(False)
        s.bind((src, 0))
        s.connect_ex((sys.argv[1], 443))
        socks[s] = src
up = {src: 0 for src in sys.argv[2:]}
pending = set(socks)
end = time.monotonic() + 2
while pending and time.monotonic() < end:
    _, w, _ = select.select([], list(pending), [], 0.2)
    for s in w:
        pending.discard(s)
        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
            up[socks[s]] += 1
print(json.dumps(up))`;

function established(mutate: (nft: string) => string, v6 = false): Record<string, number> {
  const dir = writePlan({});
  const file = path.join(dir, "vps/etc/xmpp-edge/xmpp-edge.nft");
  // The IPv4 cases fill the sets with 2 sources; the /48's ten /64s need room in theirs.
  const text = fs.readFileSync(file, "utf8");
  // Only the per-source sets: those of the /16s (the overflow rules) hold every /16 there is.
  const perSourceSet = new RegExp(`(set (?:new_conn|conn)_v[46] \\{\\n\\s+type [a-z0-9_]+; )size ${SET_SIZE};`, "g");
  const small = mutate(v6 ? text : text.replace(perSourceSet, "$1size 2;"));
  if (!v6) expect(small.match(/size 2;/g)).toHaveLength(4);
  fs.writeFileSync(file, small);
  const sources = v6 ? SITE_SOURCES : SOURCES;
  const [server, family] = v6 ? ["2001:db8::1", "socket.AF_INET6"] : ["192.0.2.1", "socket.AF_INET"];
  const perSource = v6 ? SITE_PER_SOURCE : PER_SOURCE;
  fs.writeFileSync(path.join(dir, "listen.py"), LISTENER.replace("socket.socket()", `socket.socket(${family})`).replace("'192.0.2.1'", `'${server}'`));
  fs.writeFileSync(path.join(dir, "connect.py"), CONNECTOR.replace("socket.socket()", `socket.socket(${family})`).replace(`range(${PER_SOURCE})`, `range(${perSource})`));
  return withNetns((edge) =>
    withNetns((client) => {
      const setup = sh(
        [
          "set -e",
          `ip -n ${edge} link set lo up`,
          `ip -n ${edge} link add eth0 type veth peer name eth0 netns ${client}`,
          `ip -n ${edge} addr add 192.0.2.1/24 dev eth0 && ip -n ${edge} addr add 198.51.100.1/24 dev eth0 && ip -n ${edge} -6 addr add 2001:db8::1/32 dev eth0 nodad && ip -n ${edge} link set eth0 up`,
          `ip -n ${client} link set lo up`,
          ...sources.map((a) => `ip -n ${client} addr add ${a}/${v6 ? "32 nodad" : "24"} dev eth0`),
          `ip -n ${client} link set eth0 up`,
          `ip netns exec ${edge} nft -f ${file}`,
        ].join("\n"),
      );
      expect(setup).toEqual({ status: 0, out: "" });
      const r = sh(`(ip netns exec ${edge} /usr/bin/python3 ${dir}/listen.py >/dev/null 2>&1 &); sleep 0.5; ip netns exec ${client} /usr/bin/python3 ${dir}/connect.py ${server} ${sources.join(" ")}`, 15000);
      expect(r.status).toBe(0);
      return JSON.parse(r.out) as Record<string, number>;
    }),
  );
}

test("a full set still limits: the sources it cannot hold share one source's limits per /16", () => {
  const up = established((t) => t);
  const [a, b, c, d, e] = SOURCES.map((s) => up[s]);
  expect([a, b]).toEqual([64, 64]);
  expect(c + d).toBe(64);
  expect(e).toBe(64);
});

test("the check can fail: with one share for every source beyond the set, the other /16's source gets only what is left", () => {
  const up = established((t) => t.replaceAll("ip saddr and 255.255.0.0 ", "ip saddr and 0.0.0.0 "));
  const [a, b, c, d, e] = SOURCES.map((s) => up[s]);
  expect([a, b]).toEqual([64, 64]);
  expect(c + d + e).toBe(64);
});

test("the check can fail: without the overflow rules the sources beyond the set are not limited", () => {
  const up = established((t) => t.split("\n").filter((l) => !l.includes(OVERFLOW_COMMENT)).join("\n"));
  const [a, b, c, d, e] = SOURCES.map((s) => up[s]);
  expect([a, b]).toEqual([64, 64]);
  expect([c, d, e]).toEqual([PER_SOURCE, PER_SOURCE, PER_SOURCE]);
});

test("the /64s of one IPv6 /48 share its limit: ten /64s of 30 connections each get the /48's together", () => {
  const up = established(siteShrunk, true);
  const each = SITE_SOURCES.map((s) => up[s]);
  expect(each.every((n) => n <= SITE_PER_SOURCE)).toBe(true);
  expect(each.reduce((a, b) => a + b, 0)).toBe(SITE_CONNECTIONS);
});

test("the check can fail: without the /48 level every /64 gets all of its connections", () => {
  const up = established((t) => siteShrunk(t).split("\n").filter((l) => !l.includes(SITE_COMMENT)).join("\n"), true);
  expect(SITE_SOURCES.map((s) => up[s])).toEqual(SITE_SOURCES.map(() => SITE_PER_SOURCE));
});
