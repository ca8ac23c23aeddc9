// apt reads the pushed unattended-upgrades file (`apt-config`), switched on
// and off. Each release's sshd, apt and the rest: releases.test.ts.
import * as fs from "node:fs";
import * as path from "node:path";
import { makePlan } from "../../render/plan";
import { UNATTENDED_UPGRADES_PATH } from "../../render/unattended-upgrades";
import { BASE } from "../fixtures";
import { sh, writePlan } from "./helpers";

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
