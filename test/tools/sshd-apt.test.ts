// sshd and apt read the drop-ins the plan writes: `sshd -t` accepts the
// cloud-init's sshd_config.d file (and its effective settings are ours), and
// `apt-config` parses the pushed unattended-upgrades file. Each check is shown
// to fail on a broken copy.
import * as fs from "node:fs";
import * as path from "node:path";
import { makePlan } from "../../render/plan";
import { releaseOf, type DebianRelease } from "../../model/images";
import { SSH_CIPHERS, SSH_MACS, SSHD_DROPIN_PATH, sshKex } from "../../render/sshd";
import { UNATTENDED_UPGRADES_PATH } from "../../render/unattended-upgrades";
import { BASE } from "../fixtures";
import { requireRoot, sh, writePlan } from "./helpers";

beforeAll(requireRoot);

// This machine's sshd is Debian 12's: the drop-in rendered for debian-12.
const IMAGE = { image: "debian-12" };

/** `sshd -T` on a config that includes DROPIN first, as Debian's sshd_config does; a private /run holds the privsep dir. */
function sshdEffective(dropIn: string): { status: number | null; out: string } {
  const dir = fs.mkdtempSync(path.join(path.dirname(dropIn), "sshd-"));
  sh(`ssh-keygen -q -t ed25519 -N '' -f ${dir}/host`);
  fs.writeFileSync(path.join(dir, "sshd_config"), `Include ${dropIn}\nHostKey ${dir}/host\nUsePAM no\n`);
  return sh(`unshare -m bash -c 'mount -t tmpfs lab /run && mkdir -m 0755 /run/sshd && /usr/sbin/sshd -T -f ${dir}/sshd_config'`);
}

function cloudInitDropIn(dir: string): string {
  const r = sh(`python3 -c "import yaml; d=yaml.safe_load(open('${dir}/cloud-init.yaml')); print([f['content'] for f in d['write_files'] if f['path'] == '${SSHD_DROPIN_PATH}'][0], end='')" > ${dir}/sshd-dropin.conf`);
  expect(r.status).toBe(0);
  return path.join(dir, "sshd-dropin.conf");
}

test("sshd -T accepts the cloud-init's drop-in: no forwarding, few tries, our algorithms only", () => {
  const r = sshdEffective(cloudInitDropIn(writePlan(IMAGE)));
  expect(r.status).toBe(0);
  const eff = Object.fromEntries(r.out.split("\n").map((l) => [l.split(" ")[0], l.slice(l.indexOf(" ") + 1)]));
  expect(eff).toMatchObject({
    disableforwarding: "yes",
    allowtcpforwarding: "no",
    allowagentforwarding: "no",
    allowstreamlocalforwarding: "no",
    x11forwarding: "no",
    permittunnel: "no",
    passwordauthentication: "no",
    kbdinteractiveauthentication: "no",
    permitrootlogin: "without-password",
    maxauthtries: "3",
    logingracetime: "20",
    loglevel: "VERBOSE",
    hostkeyalgorithms: "ssh-ed25519",
    kexalgorithms: sshKex(releaseOf("debian-12") as DebianRelease).join(","),
    ciphers: SSH_CIPHERS.join(","),
    macs: SSH_MACS.join(","),
  });
});

test("the check can fail: sshd -T refuses a drop-in with an unknown cipher", () => {
  const dir = writePlan(IMAGE);
  const broken = path.join(dir, "broken.conf");
  fs.writeFileSync(broken, fs.readFileSync(cloudInitDropIn(dir), "utf8").replace(/^Ciphers .*/m, "Ciphers 3des-cbc-lab-broken"));
  const r = sshdEffective(broken);
  expect(r.status).not.toBe(0);
  expect(r.out).toMatch(/Bad SSH2 cipher spec/);
});

test("apt-config reads the pushed unattended-upgrades file: on, daily, tailscale's origin added", () => {
  const file = path.join(writePlan({}), "vps", UNATTENDED_UPGRADES_PATH);
  const r = sh(`apt-config -c ${file} dump`);
  expect(r.status).toBe(0);
  expect(r.out).toContain('APT::Periodic::Unattended-Upgrade "1";');
  expect(r.out).toContain('APT::Periodic::Update-Package-Lists "1";');
  expect(r.out).toMatch(/Unattended-Upgrade::Origins-Pattern:: "origin=Tailscale";/);
});

test("unattendedUpgrades false: apt-config reads it as off", () => {
  const file = path.join(writePlan({ unattendedUpgrades: false }), "vps", UNATTENDED_UPGRADES_PATH);
  const r = sh(`apt-config -c ${file} dump`);
  expect(r.status).toBe(0);
  expect(r.out).toContain('APT::Periodic::Unattended-Upgrade "0";');
});

test("the check can fail: apt-config rejects a broken copy", () => {
  const dir = writePlan({});
  const broken = path.join(dir, "broken.conf");
  fs.writeFileSync(broken, makePlan(BASE).files[`vps${UNATTENDED_UPGRADES_PATH}`].replace('"1";', '"1"'));
  expect(sh(`apt-config -c ${broken} dump`).status).not.toBe(0);
});
