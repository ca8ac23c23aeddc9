// Running the real tools (nginx, nft, cloud-init, turnserver, sysctl) on
// rendered files. Needs root and the packages of scripts/install-test-deps.sh.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DEBIAN_RELEASES, type DebianRelease } from "../../model/images";
import { makePlan } from "../../render/plan";
import { shellQuote } from "../../render/shell-quote";
import { BASE } from "../fixtures";

export function sh(script: string, timeoutMs = 20000): { status: number | null; out: string } {
  const r = spawnSync("bash", ["-c", script], { encoding: "utf8", timeout: timeoutMs });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

export function requireRoot() {
  if (process.getuid?.() !== 0) throw new Error("the tool checks need root (network and mount namespaces): run them as root");
}

/** Config variants that exercise every branch of the renderers. */
export const VARIANTS: Record<string, Record<string, unknown>> = {
  "snikket, defaults": {},
  "prosody, proxy-protocol, separate xmppHost": { preset: "prosody", clientIp: "proxy-protocol", domain: "example.com", xmppHost: "xmpp.example.com", webHostnames: ["example.com", "www.example.com"] },
  "lock off, no direct TLS, no TURN, tailnet SSH": { webOriginLock: "off", directTls: false, turn: "off", sshAllowFrom: ["tailnet"], webHostnames: [] },
  "extra forwards and ranges, nginx ends 5222/5269": {
    clientIp: "nginx",
    turnRelayPorts: "50000-50999",
    extraForwards: [{ port: "6000-6010", protocol: "tcp" }, { port: 7000, protocol: "udp", toPort: 7001 }, { port: 64738, protocol: "udp" }],
    webOriginExtraAllow: ["198.51.100.0/24", "2001:db8:cf::/48"],
  },
};

/** Writes the plan of a variant to a temporary directory; returns its path. */
export function writePlan(overrides: Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xmpp-edge-tools-"));
  const plan = makePlan({ ...BASE, ...overrides });
  for (const [rel, content] of Object.entries(plan.files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  return dir;
}

let seq = 0;
/** A scratch network namespace, deleted after `fn` even when it throws. */
export function withNetns<T>(fn: (ns: string) => T): T {
  const ns = `xe-tools-${process.pid}-${seq++}`;
  const add = sh(`ip netns add ${ns}`);
  if (add.status !== 0) throw new Error(`ip netns add failed: ${add.out}`);
  try {
    return fn(ns);
  } finally {
    sh(`ip netns pids ${ns} | xargs -r kill -9; ip netns del ${ns}`);
  }
}

/** A supported release and the root holding its own tools (scripts/tools/build-release-root.sh). */
export interface ReleaseRoot {
  release: DebianRelease;
  root: string;
}

/** Every supported release's tools root; throws naming the install step when one is not built. */
export function releaseRoots(): ReleaseRoot[] {
  const script = path.join(__dirname, "../../scripts/tools/build-release-root.sh");
  return DEBIAN_RELEASES.map((release) => {
    const r = sh(`bash ${script} ${release.codename} --print`);
    const root = r.out.trim();
    if (r.status !== 0 || !fs.existsSync(path.join(root, "done")))
      throw new Error(`no ${release.codename} tools root at ${root}: scripts/install-test-deps.sh builds it (${r.out.trim()})`);
    return { release, root };
  });
}

/**
 * Runs `script` with a release's own binaries: chrooted into its root, in a
 * private mount namespace where /tmp (the plans) is this machine's, /run a
 * fresh tmpfs, and the network namespace `ns` or a new empty one (nft -c
 * needs netlink; nothing may reach this machine's).
 */
export function inRoot(root: string, script: string, ns?: string, timeoutMs = 20000): { status: number | null; out: string } {
  const mounts = [`mount --rbind /dev ${root}/dev`, `mount -t proc proc ${root}/proc`, `mount --bind /tmp ${root}/tmp`, `mount -t tmpfs run ${root}/run`].join(" && ");
  const enter = ns ? `ip netns exec ${ns} unshare -m --propagation private` : "unshare -m -n --propagation private";
  return sh(`${enter} bash -c ${shellQuote(`${mounts} && exec chroot ${root} bash -c "$0"`)} ${shellQuote(script)}`, timeoutMs);
}
