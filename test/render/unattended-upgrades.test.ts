import { renderVpsBundle } from "../../render/bundle";
import { UNATTENDED_UPGRADES_PATH, renderUnattendedUpgrades } from "../../render/unattended-upgrades";
import { DEPLOY_KEY, FACTS, HOST_KEY, model } from "../fixtures";

test("on by default: daily lists and upgrades, tailscale's repository added to the origins", () => {
  const f = renderUnattendedUpgrades(model());
  expect(f).toContain('APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";');
  expect(f).toMatch(/Unattended-Upgrade::Origins-Pattern \{\n\s+"origin=Tailscale";\n\};/);
});

test("unattendedUpgrades false: the file switches it off (it overrides Debian's 20auto-upgrades)", () => {
  const f = renderUnattendedUpgrades(model({ unattendedUpgrades: false }));
  expect(f).toContain('APT::Periodic::Unattended-Upgrade "0";');
  expect(f).not.toContain('"1"');
});

test("every bundle carries it (existing hosts too), sorted after 20auto-upgrades", () => {
  expect(renderVpsBundle(model({ existingHost: { address: "edge.example.net", hostKey: HOST_KEY, ipv4: "95.217.1.2" }, sshPublicKey: DEPLOY_KEY, sshPrivateKey: { secure: "x" } }), FACTS, "s")[UNATTENDED_UPGRADES_PATH]).toMatchObject({ mode: "0644" });
  expect(UNATTENDED_UPGRADES_PATH.split("/").pop()! > "20auto-upgrades").toBe(true);
});
