// New flows to coturn's UDP port beyond their normal rate, in the kernel:
// the rendered ruleset in an edge namespace with a UDP socket on 3478 in
// coturn's place, counting what reaches it. 3,000 Allocates from as many
// spoofed sources at full speed: no more than the straight-through budget
// arrives; a real client that resends its request (as every STUN client
// does) gets through during the spray. Without the filter (the check can
// fail) all 3,000 arrive.
import * as fs from "node:fs";
import * as path from "node:path";
import { TURN_NEW_FLOW_LIMIT } from "../../model/ports";
import { TURN_NEW_FLOWS_COMMENT } from "../../render/turn-new-flows";
import { requireRoot, sh, withNetns, writePlan } from "./helpers";

beforeAll(requireRoot);

const EDGE = "192.0.2.1";
const CLIENT = "192.0.2.20";
const SPOOF = path.resolve(__dirname, "../lab/bin/spoof.py");
const SPRAY = 3000;

// Counts datagrams per source address for 6 s; prints them as JSON.
const LISTENER = `import json, socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.bind(("${EDGE}", 3478))
s.settimeout(0.2)
seen = {}
end = time.monotonic() + 6
while time.monotonic() < end:
    try:
        _, (a, _p) = s.recvfrom(2048)
    except socket.timeout:
        continue
    seen[a] = seen.get(a, 0) + 1
print(json.dumps({"spoofed": sum(n for a, n in seen.items() if a != "${CLIENT}"), "client": seen.get("${CLIENT}", 0)}))`;
// A client's request, resent after 0.3 s like a STUN client's, from one socket (one flow).
const CLIENT_REQUEST = `import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(2):
    s.sendto(b"\\x00\\x01\\x00\\x00\\x21\\x12\\xa4\\x42" + b"\\x07" * 12, ("${EDGE}", 3478))
    time.sleep(0.3)`;

function arrivals(mutate: (nft: string) => string): { spoofed: number; client: number; spray: string } {
  const dir = writePlan({});
  const nft = path.join(dir, "vps/etc/xmpp-edge/xmpp-edge.nft");
  fs.writeFileSync(nft, mutate(fs.readFileSync(nft, "utf8")));
  fs.writeFileSync(path.join(dir, "listen.py"), LISTENER);
  fs.writeFileSync(path.join(dir, "client.py"), CLIENT_REQUEST);
  return withNetns((edge) =>
    withNetns((client) => {
      const x = (ns: string, cmd: string) => `ip netns exec ${ns} ${cmd}`;
      const setup = sh(
        [
          "set -e",
          `ip -n ${edge} link set lo up && ip -n ${client} link set lo up`,
          `ip -n ${edge} link add eth0 type veth peer name eth0 netns ${client}`,
          `ip -n ${edge} addr add ${EDGE}/24 dev eth0 && ip -n ${edge} link set eth0 up`,
          `ip -n ${client} addr add ${CLIENT}/24 dev eth0 && ip -n ${client} link set eth0 up`,
          x(edge, `nft -f ${nft}`),
        ].join("\n"),
      );
      expect(setup).toEqual({ status: 0, out: "" });
      const out = path.join(dir, "seen.json");
      sh(`(${x(edge, `/usr/bin/python3 ${dir}/listen.py`)} >${out} 2>&1 &); sleep 0.5`);
      // The spray uses up the straight-through budget; the client's request comes in the middle of it.
      sh(`(sleep 0.3; ${x(client, `/usr/bin/python3 ${dir}/client.py`)}) >/dev/null 2>&1 &`);
      const spray = sh(x(client, `/usr/bin/python3 ${SPOOF} stun ${EDGE} 3478 198.18.0.0/15 ${SPRAY} 3000 10`)).out.trim();
      sh("sleep 6");
      return { ...(JSON.parse(fs.readFileSync(out, "utf8")) as { spoofed: number; client: number }), spray };
    }),
  );
}

test("beyond the normal rate spoofed first packets stay out; a client's resent request gets in", () => {
  const seen = arrivals((t) => t);
  expect(seen.spray).toMatch(/^sent 3000 /);
  const seconds = Number(/ in ([\d.]+) s /.exec(seen.spray)![1]);
  // The burst, then the rate for the spray's seconds (and one of slack).
  expect(seen.spoofed).toBeLessThanOrEqual(TURN_NEW_FLOW_LIMIT.burst + TURN_NEW_FLOW_LIMIT.perSecond * (Math.ceil(seconds) + 1));
  expect(seen.spoofed).toBeGreaterThanOrEqual(TURN_NEW_FLOW_LIMIT.burst);
  expect(seen.client).toBeGreaterThanOrEqual(1);
});

test("the check can fail: without the filter every spoofed first packet reaches coturn's port", () => {
  const seen = arrivals((t) => t.split("\n").filter((l) => !l.includes(TURN_NEW_FLOWS_COMMENT)).join("\n"));
  expect(seen.spoofed).toBe(SPRAY);
});
