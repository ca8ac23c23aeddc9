// The per-source limits in the kernel when their sets are full: the rendered
// ruleset with its dynamic sets shrunk to 2 elements (so 2 sources fill them),
// 4 sources each opening 80 connections to 443. The two sources the sets
// hold get 64 each; the two they cannot hold get 64 together. Without the
// overflow rules (the check can fail) those two get all of theirs.
import * as fs from "node:fs";
import * as path from "node:path";
import { OVERFLOW_COMMENT, SET_SIZE } from "../../render/source-limits";
import { requireRoot, sh, withNetns, writePlan } from "./helpers";

beforeAll(requireRoot);

const SOURCES = ["192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.14"];
const PER_SOURCE = 80;

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

function established(mutate: (nft: string) => string): Record<string, number> {
  const dir = writePlan({});
  const file = path.join(dir, "vps/etc/xmpp-edge/xmpp-edge.nft");
  const small = mutate(fs.readFileSync(file, "utf8").replaceAll(`size ${SET_SIZE};`, "size 2;"));
  fs.writeFileSync(file, small);
  fs.writeFileSync(path.join(dir, "listen.py"), LISTENER);
  fs.writeFileSync(path.join(dir, "connect.py"), CONNECTOR);
  return withNetns((edge) =>
    withNetns((client) => {
      const setup = sh(
        [
          "set -e",
          `ip -n ${edge} link set lo up`,
          `ip -n ${edge} link add eth0 type veth peer name eth0 netns ${client}`,
          `ip -n ${edge} addr add 192.0.2.1/24 dev eth0 && ip -n ${edge} link set eth0 up`,
          `ip -n ${client} link set lo up`,
          ...SOURCES.map((a) => `ip -n ${client} addr add ${a}/24 dev eth0`),
          `ip -n ${client} link set eth0 up`,
          `ip netns exec ${edge} nft -f ${file}`,
        ].join("\n"),
      );
      expect(setup).toEqual({ status: 0, out: "" });
      const r = sh(`(ip netns exec ${edge} /usr/bin/python3 ${dir}/listen.py >/dev/null 2>&1 &); sleep 0.5; ip netns exec ${client} /usr/bin/python3 ${dir}/connect.py 192.0.2.1 ${SOURCES.join(" ")}`, 15000);
      expect(r.status).toBe(0);
      return JSON.parse(r.out) as Record<string, number>;
    }),
  );
}

test("a full set still limits: the sources it cannot hold share one source's limits", () => {
  const up = established((t) => t);
  const [a, b, c, d] = SOURCES.map((s) => up[s]);
  expect([a, b]).toEqual([64, 64]);
  expect(c + d).toBe(64);
});

test("the check can fail: without the overflow rules the sources beyond the set are not limited", () => {
  const up = established((t) => t.split("\n").filter((l) => !l.includes(OVERFLOW_COMMENT)).join("\n"));
  const [a, b, c, d] = SOURCES.map((s) => up[s]);
  expect([a, b]).toEqual([64, 64]);
  expect([c, d]).toEqual([PER_SOURCE, PER_SOURCE]);
});
