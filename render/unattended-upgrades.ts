// Security updates on the VPS: Debian's unattended-upgrades, daily, for
// Debian's security archive (its stock 50unattended-upgrades) and tailscale's
// own repository (the join script installs tailscale from there). Pushed to
// every host, so an existing host gets it too and the opt-out takes effect
// everywhere; the file sorts after Debian's 20auto-upgrades, so it decides.
import type { EdgeModel } from "../model/model";
import { generatedHeader } from "./header";

export const UNATTENDED_UPGRADES_PATH = "/etc/apt/apt.conf.d/52xmpp-edge-upgrades";
/** The Origin of pkgs.tailscale.com's Release files. */
export const TAILSCALE_APT_ORIGIN = "Tailscale";

export function renderUnattendedUpgrades(model: EdgeModel): string {
  const on = model.config.unattendedUpgrades;
  const header = generatedHeader("//", on ? "unattended-upgrades: Debian security updates and tailscale, daily." : "unattended-upgrades switched off (unattendedUpgrades: false).");
  if (!on) return [header, 'APT::Periodic::Unattended-Upgrade "0";', ""].join("\n");
  return [
    header,
    'APT::Periodic::Update-Package-Lists "1";',
    'APT::Periodic::Unattended-Upgrade "1";',
    "// apt.conf lists add up across files: Debian's security origins stay, tailscale's is added.",
    "Unattended-Upgrade::Origins-Pattern {",
    `        "origin=${TAILSCALE_APT_ORIGIN}";`,
    "};",
    "",
  ].join("\n");
}
