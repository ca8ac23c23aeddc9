// The files an edge receives, checked by the tools of each Debian release it
// may run (model/images.ts), each in that release's own root
// (scripts/tools/build-release-root.sh): the plan rendered for the release's
// image, read by its nginx, nft, sshd, turnserver, cloud-init, apt and
// systemd. The other tools tests run this machine's binaries and go deeper
// (namespaces with traffic); these catch what one release accepts and
// another refuses. Each check is shown to fail on a broken copy.
import * as fs from "node:fs";
import * as path from "node:path";
import { DEBIAN_RELEASES } from "../../model/images";
import { buildModel } from "../../model/model";
import { validateConfig } from "../../model/validate";
import { renderCoturnConf } from "../../render/coturn";
import { SSH_CIPHERS, SSH_MACS, SSHD_DROPIN_PATH, sshKex } from "../../render/sshd";
import { UNATTENDED_UPGRADES_PATH } from "../../render/unattended-upgrades";
import { BASE, FACTS } from "../fixtures";
import { inRoot, releaseRoots, requireRoot, sh, VARIANTS, withNetns, writePlan } from "./helpers";

beforeAll(requireRoot);

const ROOTS = releaseRoots();
const NFT = "vps/etc/xmpp-edge/xmpp-edge.nft";
const NGINX = "vps/etc/nginx/nginx.conf";

/** A file of the user-data's write_files, written next to it; returns its path. */
function fromUserData(dir: string, file: string): string {
  const out = path.join(dir, path.basename(file));
  const r = sh(`python3 -c "import yaml; d=yaml.safe_load(open('${dir}/cloud-init.yaml')); print([f['content'] for f in d['write_files'] if f['path'] == '${file}'][0], end='')" > ${out}`);
  expect(r).toEqual({ status: 0, out: "" });
  return out;
}

/** `sshd -T` of a config that includes the drop-in first, as Debian's sshd_config does. */
function sshdEffective(root: string, dropIn: string): { status: number | null; out: string } {
  const dir = path.dirname(dropIn);
  fs.writeFileSync(path.join(dir, "sshd_config"), `Include ${dropIn}\nHostKey ${dir}/host\nUsePAM no\n`);
  return inRoot(root, `ssh-keygen -q -t ed25519 -N '' -f ${dir}/host <<<y >/dev/null; mkdir -m 0755 /run/sshd && /usr/sbin/sshd -T -f ${dir}/sshd_config`);
}

describe.each(ROOTS.map((r) => [`${r.release.image} (${r.release.codename})`, r] as const))("%s", (_name, { release, root }) => {
  const image = { image: release.image };

  test.each(Object.entries(VARIANTS))("nginx -t accepts the nginx.conf of: %s", (_v, overrides) => {
    const conf = path.join(writePlan({ ...overrides, ...image }), NGINX);
    const r = inRoot(root, `mount --bind ${conf} /etc/nginx/nginx.conf && nginx -t`);
    expect(r.out).toContain("test is successful");
    expect(r.out).not.toMatch(/\[(warn|emerg)\]/);
    expect(r.status).toBe(0);
  });

  test("nginx -t refuses a broken nginx.conf (the check can fail)", () => {
    const conf = path.join(writePlan(image), NGINX);
    fs.writeFileSync(conf, fs.readFileSync(conf, "utf8").replace("ssl_preread on;", "ssl_preread maybe;"));
    const r = inRoot(root, `nginx -t -c ${conf}`);
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/invalid value "maybe"/);
  });

  test.each(Object.entries(VARIANTS))("nft -c accepts the ruleset of: %s", (_v, overrides) => {
    expect(inRoot(root, `nft -c -f ${path.join(writePlan({ ...overrides, ...image }), NFT)}`)).toEqual({ status: 0, out: "" });
  });

  test("nft -c refuses a broken ruleset (the check can fail)", () => {
    const file = path.join(writePlan(image), NFT);
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(/masquerade/g, "masqueradeX"));
    const r = inRoot(root, `nft -c -f ${file}`);
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/syntax error/);
  });

  test.each(Object.entries({ ...VARIANTS, headscale: { tailscaleLoginServer: "https://hs.example.com", tailscaleAuthKey: { secure: "x" } } }))(
    "cloud-init schema accepts the user-data of: %s",
    (_v, overrides) => {
      const r = inRoot(root, `cloud-init schema --config-file ${path.join(writePlan({ ...overrides, ...image }), "cloud-init.yaml")}`);
      // 22.4 (bookworm) says "Valid cloud-config", 25.1 (trixie) "Valid schema"; neither may warn of a deprecated key.
      expect(r.out).toMatch(/^Valid (cloud-config|schema)\b/m);
      expect(r.out).not.toMatch(/deprecat/i);
      expect(r.status).toBe(0);
    },
  );

  test("cloud-init schema refuses a broken user-data (the check can fail)", () => {
    const file = path.join(writePlan(image), "cloud-init.yaml");
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(/^packages:/m, "packages: 5\npackages_broken:"));
    const r = inRoot(root, `cloud-init schema --config-file ${file}`);
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/packages/);
  });

  test("sshd -T takes the user-data's drop-in: our algorithms, this release's key exchange, no forwarding", () => {
    const r = sshdEffective(root, fromUserData(writePlan(image), SSHD_DROPIN_PATH));
    expect(r.status).toBe(0);
    const eff = Object.fromEntries(r.out.split("\n").map((l) => [l.split(" ")[0], l.slice(l.indexOf(" ") + 1)]));
    expect(eff).toMatchObject({
      disableforwarding: "yes",
      passwordauthentication: "no",
      permitrootlogin: "without-password",
      hostkeyalgorithms: "ssh-ed25519",
      kexalgorithms: sshKex(release).join(","),
      ciphers: SSH_CIPHERS.join(","),
      macs: SSH_MACS.join(","),
    });
  });

  // Why the drop-in follows the image: Debian 12's OpenSSH 9.2 refuses ML-KEM,
  // which Debian 13's drop-in names; Debian 13's OpenSSH 10 takes Debian 12's.
  test.each(DEBIAN_RELEASES.map((other) => [other.image, other] as const))("sshd -T on the drop-in rendered for %s: accepted only when that release is not newer", (_i, other) => {
    const r = sshdEffective(root, fromUserData(writePlan({ image: other.image }), SSHD_DROPIN_PATH));
    if (other.version <= release.version) expect(r.status).toBe(0);
    else expect(r.out).toMatch(/Bad SSH2 KexAlgorithms/);
  });

  test("sshd -T refuses a drop-in with an algorithm it lacks (the check can fail)", () => {
    const dir = writePlan(image);
    const dropIn = fromUserData(dir, SSHD_DROPIN_PATH);
    fs.writeFileSync(dropIn, fs.readFileSync(dropIn, "utf8").replace(/^KexAlgorithms .*/m, "KexAlgorithms mlkem1024-lab-broken"));
    const r = sshdEffective(root, dropIn);
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/Bad SSH2 KexAlgorithms/);
  });

  test("turnserver starts on the rendered config and listens on the VPS addresses only", () => {
    const dir = writePlan(image);
    const conf = path.join(dir, "turnserver.conf");
    fs.writeFileSync(conf, renderCoturnConf(buildModel(validateConfig({ ...BASE, ...image })), FACTS, "lab-secret").replace(/^syslog$/m, `log-file=${dir}/turn.log`));
    withNetns((ns) => {
      const addrs = `ip link set lo up && ip link add eth0 type veth peer name eth1 && ip link set eth0 up && ip link set eth1 up && ip addr add ${FACTS.vpsIPv4}/24 dev eth0 && ip -6 addr add ${FACTS.vpsIPv6}/64 dev eth0 nodad`;
      expect(sh(`ip netns exec ${ns} bash -c '${addrs}'`).status).toBe(0);
      // Started, listened on, and stopped in one chroot: its pid does not outlive the check.
      const r = inRoot(
        root,
        `turnserver -c ${conf} --pidfile ${dir}/turn.pid >/dev/null 2>&1 & pid=$!; for i in $(seq 100); do ss -lun | grep -q ":3478 " && break; sleep 0.1; done; ss -lunH; ss -ltnH; kill $pid; wait $pid 2>/dev/null; true`,
        ns,
        30000,
      );
      expect(r.out).toContain(`${FACTS.vpsIPv4}:3478`);
      expect(r.out).toContain(`[${FACTS.vpsIPv6}]:3478`);
      expect(r.out).not.toMatch(/0\.0\.0\.0:3478|\*:3478|\[::\]:3478/);
      const log = sh(`cat ${dir}/turn*.log`).out;
      expect(log).toContain("Black listing: 169.254.169.254\n");
      expect(log).toContain("--no-tcp-relay: TCP relay endpoints are not allowed");
      expect(log).not.toMatch(/ERROR|Bad configuration|unknown option/i);
    });
  });

  test("apt-config: the pushed file switches unattended-upgrades on and adds tailscale to Debian's own origins", () => {
    const file = path.join(writePlan(image), "vps", UNATTENDED_UPGRADES_PATH);
    const r = inRoot(root, `apt-config -c /etc/apt/apt.conf.d/50unattended-upgrades -c ${file} dump`);
    expect(r.status).toBe(0);
    expect(r.out).toContain('APT::Periodic::Unattended-Upgrade "1";');
    // Debian's stock file names its security archive by the codename unattended-upgrades substitutes.
    expect(r.out).toContain('Unattended-Upgrade::Origins-Pattern:: "origin=Debian,codename=${distro_codename}-security,label=Debian-Security";');
    expect(r.out).toContain('Unattended-Upgrade::Origins-Pattern:: "origin=Tailscale";');
    const broken = path.join(path.dirname(file), "broken.conf");
    fs.writeFileSync(broken, fs.readFileSync(file, "utf8").replace('"1";', '"1"'));
    expect(inRoot(root, `apt-config -c ${broken} dump`).status).not.toBe(0);
  });

  test("systemd-analyze verify accepts the boot unit that loads the ruleset", () => {
    const dir = path.join(writePlan(image), "vps");
    const place = `mount -t tmpfs t /usr/local/sbin && install -m 0755 ${dir}/usr/local/sbin/xmpp-edge-apply /usr/local/sbin/ && mount -t tmpfs t /etc/systemd/system && cp ${dir}/etc/systemd/system/*.service /etc/systemd/system/`;
    const verify = (unit: string) => inRoot(root, `${place} && ${unit} systemd-analyze verify /etc/systemd/system/xmpp-edge-nftables.service`);
    expect(verify("")).toEqual({ status: 0, out: "" });
    const broken = verify("sed -i 's/^Type=oneshot/Type=oneshots/' /etc/systemd/system/xmpp-edge-nftables.service &&");
    expect(broken.out).toMatch(/Failed to parse service type|oneshots/);
  });
});
