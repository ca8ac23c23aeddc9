// coturn has no config-check mode: start it on its rendered config in a
// scratch namespace that has the VPS's addresses, and see it listen.
// sysctl: load the rendered file in a namespace and read the values back.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildModel } from "../../model/model";
import { validateConfig } from "../../model/validate";
import { renderCoturnConf } from "../../render/coturn";
import { renderCoturnDropIn } from "../../render/coturn-unit";
import { BASE, FACTS } from "../fixtures";
import { requireRoot, sh, withNetns, writePlan } from "./helpers";

beforeAll(requireRoot);

test("turnserver starts on the rendered config and listens on the STUN/TURN ports of the VPS addresses only", () => {
  const dir = writePlan({});
  const conf = path.join(dir, "turnserver.conf");
  fs.writeFileSync(conf, renderCoturnConf(buildModel(validateConfig(BASE)), FACTS, "lab-secret").replace(/^syslog$/m, `log-file=${dir}/turn.log`));
  withNetns((ns) => {
    const run = (cmd: string, t?: number) => sh(`ip netns exec ${ns} ${cmd}`, t);
    expect(run(`bash -c 'ip link set lo up && ip link add eth0 type veth peer name eth1 && ip link set eth0 up && ip link set eth1 up && ip addr add ${FACTS.vpsIPv4}/24 dev eth0 && ip -6 addr add ${FACTS.vpsIPv6}/64 dev eth0 nodad'`).status).toBe(0);
    run(`bash -c 'turnserver -c ${conf} --pidfile ${dir}/turn.pid >/dev/null 2>&1 & for i in $(seq 50); do ss -lun | grep -q ":3478 " && break; sleep 0.1; done'`, 15000);
    const udp = run("ss -lunH").out;
    const tcp = run("ss -ltnH").out;
    expect(udp).toContain(`${FACTS.vpsIPv4}:3478`);
    expect(udp).toContain(`[${FACTS.vpsIPv6}]:3478`);
    expect(tcp).toContain(`${FACTS.vpsIPv4}:3478`);
    expect(tcp).toContain(`[${FACTS.vpsIPv6}]:3478`);
    // Nothing on the wildcard address (the tailnet side stays TURN-free).
    expect(`${udp}${tcp}`).not.toMatch(/0\.0\.0\.0:3478|\*:3478|\[::\]:3478/);
    // coturn read the relay restrictions: the metadata service and special ranges denied, the cap, no TCP relays.
    const log = sh(`cat ${dir}/turn*.log`).out;
    for (const a of ["169.254.169.254", "192.0.0.0-192.0.0.255", "2002::-2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]) expect(log).toContain(`Black listing: ${a}\n`);
    expect(log).toContain("500000 bytes per second allowed per session");
    expect(log).toContain("125000000 bytes per second allowed, combined server capacity");
    expect(log).toContain("--no-tcp-relay: TCP relay endpoints are not allowed");
  });
});

// systemd-analyze verify warns about a key it does not know or a value out of range (and still exits 0): no output is the check.
test("systemd-analyze verify reads Debian's coturn unit with the rendered drop-in without a warning, and warns on a broken one", () => {
  const unit = "/lib/systemd/system/coturn.service";
  if (!fs.existsSync(unit)) throw new Error(`${unit} is missing: apt-get install coturn`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xe-dropin-"));
  const verify = (dropIn: string) => {
    fs.mkdirSync(path.join(dir, "coturn.service.d"), { recursive: true });
    fs.copyFileSync(unit, path.join(dir, "coturn.service"));
    fs.writeFileSync(path.join(dir, "coturn.service.d", "xmpp-edge.conf"), dropIn);
    return sh(`SYSTEMD_UNIT_PATH=${dir}: systemd-analyze verify ${dir}/coturn.service 2>&1`);
  };
  const good = verify(renderCoturnDropIn(buildModel(validateConfig(BASE))));
  expect(good).toMatchObject({ status: 0, out: "" });
  expect(verify("[Service]\nMemoryMaxx=5\nOOMScoreAdjust=5000\n").out).toMatch(/Unknown key 'MemoryMaxx'[\s\S]*OOM score adjust value out of range/);
});

test("sysctl loads the rendered file: forwarding on for IPv4 and IPv6, strict and short TCP tracking, short unanswered UDP", () => {
  const dir = writePlan({});
  const file = path.join(dir, "vps/etc/sysctl.d/60-xmpp-edge.conf");
  withNetns((ns) => {
    // As the apply does: our table first (it brings conntrack, whose keys the file sets).
    const r = sh(`ip netns exec ${ns} nft -f ${dir}/vps/etc/xmpp-edge/xmpp-edge.nft && ip netns exec ${ns} sysctl -p ${file}`);
    expect(r.status).toBe(0);
    const keys = "net.ipv4.ip_forward net.ipv6.conf.all.forwarding net.ipv6.conf.default.accept_ra net.netfilter.nf_conntrack_tcp_loose net.netfilter.nf_conntrack_tcp_timeout_syn_recv net.netfilter.nf_conntrack_tcp_timeout_syn_sent net.netfilter.nf_conntrack_tcp_timeout_established net.netfilter.nf_conntrack_udp_timeout";
    expect(sh(`ip netns exec ${ns} sysctl -n ${keys}`).out.split("\n").slice(0, 8)).toEqual(["1", "1", "2", "0", "10", "30", "14400", "5"]);
    // nf_conntrack_max: read-only outside the initial network namespace (the apply reports it there); sysctl says so and still exits 0.
    expect(r.out).toMatch(/setting key "net\.netfilter\.nf_conntrack_max": Invalid argument/);
    expect(r.out.split("\n").filter((l) => /^sysctl: /.test(l))).toHaveLength(1);
  });
});
