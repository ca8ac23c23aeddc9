import { MODULES_LOAD_PATH, renderVpsBundle } from "../../render/bundle";
import { renderSysctl, SYSCTL_PATH } from "../../render/sysctl";
import { DEFAULT_UDP_FORWARD_PPS, reservedWithin } from "../../model/ports";
import { FACTS, model } from "../fixtures";

const settings = () => Object.fromEntries(renderSysctl(model()).split("\n").filter((l) => /^[a-z]/.test(l)).map((l) => l.split(" = ")));

test("the TURN relay range and every port a daemon here binds are reserved from the kernel's ephemeral ports; forwarded ports are not", () => {
  expect(renderSysctl(model({ turnRelayPorts: "50000-50999" }))).toMatch(/\nnet\.ipv4\.ip_local_reserved_ports = 41641,50000-50999\n/);
  expect(renderSysctl(model())).toMatch(/\nnet\.ipv4\.ip_local_reserved_ports = 41641,49152-65535\n/);
  // tailscaled's port stays reserved without TURN; a forward inside the range is DNAT'd, never bound here.
  const noTurn = renderSysctl(model({ turn: "off", extraForwards: [{ port: 30000, protocol: "tcp" }] }));
  expect(noTurn).toMatch(/\nnet\.ipv4\.ip_local_reserved_ports = 41641\n/);
});

test("the host's outgoing connections get 10000-65535, so one home port carries 39,151 sessions per family beside the default relay range and tailscaled's port", () => {
  expect(settings()["net.ipv4.ip_local_port_range"]).toBe("10000 65535");
  const r = reservedWithin([{ from: 49152, to: 65535 }, { from: 41641, to: 41641 }]);
  const free = 65535 - 10000 + 1 - r.reduce((n, x) => n + x.to - x.from + 1, 0);
  expect(free).toBe(39151);
});

test("reserved ranges are clipped to the ephemeral range, sorted and merged", () => {
  expect(reservedWithin([{ from: 22, to: 22 }, { from: 60000, to: 70000 }, { from: 12000, to: 12010 }, { from: 12011, to: 12020 }, { from: 59990, to: 60001 }])).toEqual([
    { from: 12000, to: 12020 },
    { from: 59990, to: 65535 },
  ]);
});

test("a TCP packet that is not a SYN starts no connection (no loose tracking)", () => {
  expect(settings()["net.netfilter.nf_conntrack_tcp_loose"]).toBe("0");
});

test("half-open connections leave conntrack within seconds, not minutes", () => {
  expect(settings()["net.netfilter.nf_conntrack_tcp_timeout_syn_recv"]).toBe("10");
  expect(settings()["net.netfilter.nf_conntrack_tcp_timeout_syn_sent"]).toBe("30");
});

test("an unanswered UDP flow leaves conntrack within seconds: a spoofed flood at a UDP forward's budget cannot hold masquerade's ports to its home port", () => {
  const unreplied = Number(settings()["net.netfilter.nf_conntrack_udp_timeout"]);
  expect(unreplied).toBeGreaterThanOrEqual(2);
  // The default budget's new flows a second, each held this long, fit masquerade's ~64,500 source ports.
  expect(DEFAULT_UDP_FORWARD_PPS * unreplied).toBeLessThan(64500);
});

test("conntrack is loaded at boot before the sysctl file, whose net.netfilter keys need it", () => {
  const bundle = renderVpsBundle(model(), FACTS, "s");
  expect(bundle[SYSCTL_PATH]).toBeDefined();
  expect(bundle[MODULES_LOAD_PATH].content.split("\n").filter((l) => l && !l.startsWith("#"))).toEqual(["nf_conntrack"]);
});

test("the conntrack table is sized by conntrackMax, and an idle established connection leaves it after hours, not days", () => {
  expect(settings()["net.netfilter.nf_conntrack_max"]).toBe("262144");
  expect(renderSysctl(model({ conntrackMax: 1048576 }))).toMatch(/\nnet\.netfilter\.nf_conntrack_max = 1048576\n/);
  const established = Number(settings()["net.netfilter.nf_conntrack_tcp_timeout_established"]);
  // Longer than Linux's TCP keepalive (7200 s before the first probe), far shorter than the kernel's 5 days.
  expect(established).toBeGreaterThan(7200 + 9 * 75);
  expect(established).toBeLessThanOrEqual(24 * 3600);
});
