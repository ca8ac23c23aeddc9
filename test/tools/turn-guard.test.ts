// coturn's relay guard, with packets: in a scratch namespace holding the
// VPS's addresses and the pushed ruleset and sysctl file, a socket of
// coturn's user sends to this host. It reaches the relay ports on the relay
// addresses (relay to relay) and nothing else of the host: not loopback, not
// the tailnet address, not a port outside the range (sshd). The last tests
// give the guard an accept for any local address on the relay ports and see
// loopback reached (the check can fail), and show the kernel keeping other
// sockets out of the range.
import * as fs from "node:fs";
import * as path from "node:path";
import { EXAMPLE_VPS_IPV4, EXAMPLE_VPS_IPV6 } from "../../render/plan";
import { requireRoot, sh, withNetns, writePlan } from "./helpers";

beforeAll(requireRoot);

const RANGE = "50000-50099";
const IN_RANGE = 50050;
const SSHD = 2222; // a listener outside the range, as sshd is
const TAILNET4 = "100.64.0.1";

// Listeners are bound as root first; then the process becomes coturn's user, so every socket it opens after is coturn's.
const PROBE = `
import json, os, pwd, socket, sys, time
dests = json.loads(sys.argv[1])
ls = {}
for proto in ("udp", "tcp"):
    for port in sorted({d[2] for d in dests}):
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", port))
        if proto == "tcp":
            s.listen(16)
        s.setblocking(False)
        ls[(proto, port)] = s
u = pwd.getpwnam("turnserver")
os.setgid(u.pw_gid)
os.setuid(u.pw_uid)
out = {}
for proto, addr, port in dests:
    tag = f"{proto} {addr} {port}"
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    if proto == "udp":
        c = socket.socket(fam, socket.SOCK_DGRAM)
        try:
            c.sendto(tag.encode(), (addr, port))
        except OSError as e:
            out[tag] = f"refused ({e.strerror})"
        c.close()
    else:
        c = socket.socket(fam, socket.SOCK_STREAM)
        c.settimeout(1)
        try:
            c.connect((addr, port))
            out[tag] = "reached"
        except OSError as e:
            out[tag] = f"refused ({e.strerror or e})"
        c.close()
time.sleep(0.2)
for (proto, port), s in ls.items():
    if proto != "udp":
        continue
    while True:
        try:
            out[s.recv(200).decode()] = "reached"
        except BlockingIOError:
            break
for d in dests:
    out.setdefault(f"{d[0]} {d[1]} {d[2]}", "refused (nothing arrived)")
print(json.dumps(out))
`;

/** What each destination got from a socket of coturn's user, with this plan's ruleset and sysctl loaded. */
function probe(overrides: Record<string, unknown>, dests: [string, string, number][], change: (nft: string) => string = (t) => t): Record<string, string> {
  const dir = writePlan({ turnRelayPorts: RANGE, ...overrides });
  const nft = path.join(dir, "vps/etc/xmpp-edge/xmpp-edge.nft");
  fs.writeFileSync(nft, change(fs.readFileSync(nft, "utf8")));
  const script = path.join(dir, "probe.py");
  fs.writeFileSync(script, PROBE);
  return withNetns((ns) => {
    const run = (cmd: string) => sh(`ip netns exec ${ns} bash -c '${cmd}'`);
    const setup = run(
      `ip link set lo up && ip link add eth0 type veth peer name eth1 && ip link set eth0 up && ip link set eth1 up && ip addr add ${EXAMPLE_VPS_IPV4}/24 dev eth0 && ip -6 addr add ${EXAMPLE_VPS_IPV6}/64 dev eth0 nodad && ip addr add ${TAILNET4}/32 dev lo && sysctl -q -p ${dir}/vps/etc/sysctl.d/60-xmpp-edge.conf && nft -f ${nft}`,
    );
    if (setup.status !== 0) throw new Error(`namespace setup failed: ${setup.out}`);
    const r = sh(`ip netns exec ${ns} python3 ${script} '${JSON.stringify(dests)}'`);
    if (r.status !== 0) throw new Error(`probe failed: ${r.out}`);
    return Object.fromEntries(Object.entries(JSON.parse(r.out) as Record<string, string>).map(([k, v]) => [k, v.startsWith("reached") ? "reached" : "refused"]));
  });
}

const LOCAL: [string, string, number][] = [
  ["udp", EXAMPLE_VPS_IPV4, IN_RANGE],
  ["udp", EXAMPLE_VPS_IPV6, IN_RANGE],
  ["udp", "127.0.0.1", IN_RANGE],
  ["udp", "::1", IN_RANGE],
  ["udp", TAILNET4, IN_RANGE],
  ["udp", EXAMPLE_VPS_IPV4, SSHD],
  ["tcp", EXAMPLE_VPS_IPV4, IN_RANGE],
  ["tcp", "127.0.0.1", IN_RANGE],
  ["tcp", TAILNET4, IN_RANGE],
  ["tcp", EXAMPLE_VPS_IPV4, SSHD],
];

test("UDP relays only: coturn reaches its relay addresses on the relay ports, nothing else of this host", () => {
  expect(probe({}, LOCAL)).toEqual({
    [`udp ${EXAMPLE_VPS_IPV4} ${IN_RANGE}`]: "reached",
    [`udp ${EXAMPLE_VPS_IPV6} ${IN_RANGE}`]: "reached",
    [`udp 127.0.0.1 ${IN_RANGE}`]: "refused",
    [`udp ::1 ${IN_RANGE}`]: "refused",
    [`udp ${TAILNET4} ${IN_RANGE}`]: "refused",
    [`udp ${EXAMPLE_VPS_IPV4} ${SSHD}`]: "refused",
    [`tcp ${EXAMPLE_VPS_IPV4} ${IN_RANGE}`]: "refused",
    [`tcp 127.0.0.1 ${IN_RANGE}`]: "refused",
    [`tcp ${TAILNET4} ${IN_RANGE}`]: "refused",
    [`tcp ${EXAMPLE_VPS_IPV4} ${SSHD}`]: "refused",
  });
});

test("TCP relays too (turnTcpRelay): the same, over TCP as well", () => {
  const got = probe({ turnTcpRelay: true }, LOCAL);
  expect(Object.entries(got).filter(([, v]) => v === "reached").map(([k]) => k).sort()).toEqual(
    [`tcp ${EXAMPLE_VPS_IPV4} ${IN_RANGE}`, `udp ${EXAMPLE_VPS_IPV4} ${IN_RANGE}`, `udp ${EXAMPLE_VPS_IPV6} ${IN_RANGE}`].sort(),
  );
});

test("the check can fail: with the guard's accept for any local address on the relay ports, loopback and the tailnet address are reached", () => {
  const anyLocal = (t: string) => {
    const accepts = /^\s+ip6? daddr \S+ (udp|tcp) dport \S+ accept comment "relay to relay on this edge"\n/gm;
    const changed = t.replace(accepts, "").replace(/(chain turn_relay_guard \{\n)/, `$1        fib daddr type local udp dport ${RANGE} accept\n        fib daddr type local tcp dport ${RANGE} accept\n`);
    if (changed === t || changed.includes('"relay to relay on this edge"')) throw new Error("the guard no longer looks as expected; update this test");
    return changed;
  };
  const got = probe({ turnTcpRelay: true }, LOCAL, anyLocal);
  expect(got[`udp 127.0.0.1 ${IN_RANGE}`]).toBe("reached");
  expect(got[`udp ${TAILNET4} ${IN_RANGE}`]).toBe("reached");
  expect(got[`tcp 127.0.0.1 ${IN_RANGE}`]).toBe("reached");
});

test("no other socket is given a port in the relay range (ip_local_reserved_ports); without the setting, some are", () => {
  const dir = writePlan({ turnRelayPorts: RANGE });
  const conf = path.join(dir, "vps/etc/sysctl.d/60-xmpp-edge.conf");
  const bind = "import socket; ss=[socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(60)]; [s.bind((\"0.0.0.0\", 0)) for s in ss]; print(sum(50000 <= s.getsockname()[1] <= 50099 for s in ss))";
  // Ephemeral ports narrowed to 50000-50199: half of them inside the relay range.
  const inRange = (load: string) => withNetns((ns) => sh(`ip netns exec ${ns} bash -c 'sysctl -q -w net.ipv4.ip_local_port_range="50000 50199" ${load} && python3 -c "${bind.replace(/"/g, '\\"')}"'`));
  // The rendered file's line for it (the whole file also sets nf_conntrack_max, which a netns refuses).
  const line = fs.readFileSync(conf, "utf8").split("\n").find((l) => l.startsWith("net.ipv4.ip_local_reserved_ports"));
  if (!line) throw new Error(`${conf} reserves no ports any more; update this test`);
  expect(inRange(`&& sysctl -q -w "${line.replace(/\s/g, "")}"`)).toEqual({ status: 0, out: "0\n" });
  const without = inRange("");
  expect(without.status).toBe(0);
  expect(Number(without.out)).toBeGreaterThan(0);
});
