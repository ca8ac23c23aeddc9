// The `vps/` bundle: every file the push installs on the VPS, by absolute
// path. The plan writes it to disk; the Pulumi push sends it in one SSH session.
import { APPLY_SCRIPT, TURN_CERT_TOOL } from "../host/scripts";
import type { EdgeModel, HostFacts } from "../model/model";
import { COTURN_CONF_PATH, renderCoturnConf } from "./coturn";
import { COTURN_DROPIN_PATH, renderCoturnDropIn } from "./coturn-unit";
import { generatedHeader } from "./header";
import { NGINX_CONF_PATH, renderNginxConf } from "./nginx";
import { NFT_FALLBACK_PATH, NFT_RULESET_PATH, renderNftables, renderNftFallback } from "./nftables";
import { renderSysctl, SYSCTL_PATH } from "./sysctl";
import { renderTurnCertConf, renderTurnCertService, renderTurnCertTimer, TURN_CERT_CONF_PATH, TURN_CERT_SERVICE_PATH, TURN_CERT_TIMER_PATH, TURN_CERT_TOOL_PATH } from "./turn-cert";
import { renderUnattendedUpgrades, UNATTENDED_UPGRADES_PATH } from "./unattended-upgrades";

/** What the apply installs (and --remove takes away): one "mode owner:group path" line per file. */
export const MANIFEST_PATH = "/etc/xmpp-edge/manifest";
export const NFT_BOOT_UNIT_PATH = "/etc/systemd/system/xmpp-edge-nftables.service";
export const NFT_FALLBACK_UNIT = "xmpp-edge-nftables-fallback.service";
export const NFT_FALLBACK_UNIT_PATH = `/etc/systemd/system/${NFT_FALLBACK_UNIT}`;
/** Where the bundle installs host/xmpp-edge-apply; the push runs the staged copy at the same path under its stage. */
export const APPLY_PATH = "/usr/local/sbin/xmpp-edge-apply";

export interface BundleFile {
  content: string;
  mode: "0644" | "0640" | "0755";
  /** Group owner when not root (the file's daemon must read it). */
  group?: string;
}

export type Bundle = Record<string, BundleFile>;

/**
 * conntrack's module at boot, before systemd-sysctl: the net.netfilter keys
 * of the sysctl file exist only once it is loaded, and nothing else loads it
 * before our table does, after systemd-sysctl has run.
 */
export const MODULES_LOAD_PATH = "/etc/modules-load.d/xmpp-edge.conf";
export function renderModulesLoad(): string {
  return [generatedHeader("#", "Kernel modules loaded at boot, before the sysctl settings (60-xmpp-edge.conf)."), "nf_conntrack", ""].join("\n");
}

/** Loads our table at boot. Ordered after Debian's nftables.service, whose stock ruleset flushes everything, and after the local file systems are writable. */
export function renderNftBootUnit(): string {
  return [
    generatedHeader("#", "Loads the xmpp-edge nftables table at boot."),
    "[Unit]",
    "Description=xmpp-edge nftables table (public input filter, forwards to the home server)",
    "Wants=network-pre.target",
    "Before=network-pre.target",
    // DefaultDependencies=no would also run it before systemd remounts the
    // root file system read-write: --boot's revert writes to /var/lib.
    "After=nftables.service local-fs.target",
    "DefaultDependencies=no",
    // --boot failed: our table may be missing, and then nothing filters at all.
    `OnFailure=${NFT_FALLBACK_UNIT}`,
    "",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    // --boot: an apply a reboot left unconfirmed is reverted first, then the table is loaded.
    `ExecStart=${APPLY_PATH} --boot`,
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** The boot unit's OnFailure=: loads the deny-by-default fallback table. Not enabled: only the failure pulls it in. */
export function renderNftFallbackUnit(): string {
  return [
    generatedHeader("#", "Loads the xmpp-edge fallback nftables table when the boot unit fails."),
    "[Unit]",
    "Description=xmpp-edge fallback nftables table (deny by default: SSH and tailscaled only), after the boot unit failed",
    "DefaultDependencies=no",
    "",
    "[Service]",
    "Type=oneshot",
    `ExecStart=/usr/sbin/nft -f ${NFT_FALLBACK_PATH}`,
    "",
  ].join("\n");
}

/** The on-host apply travels with every bundle, so the VPS always runs the apply that matches the files. */
export function renderVpsBundle(model: EdgeModel, facts: HostFacts, turnSecret: string | undefined): Bundle {
  const bundle: Bundle = {
    [NGINX_CONF_PATH]: { content: renderNginxConf(model, facts), mode: "0644" },
    [NFT_RULESET_PATH]: { content: renderNftables(model, facts), mode: "0644" },
    [NFT_BOOT_UNIT_PATH]: { content: renderNftBootUnit(), mode: "0644" },
    [NFT_FALLBACK_PATH]: { content: renderNftFallback(model, facts), mode: "0644" },
    [NFT_FALLBACK_UNIT_PATH]: { content: renderNftFallbackUnit(), mode: "0644" },
    [SYSCTL_PATH]: { content: renderSysctl(model), mode: "0644" },
    [MODULES_LOAD_PATH]: { content: renderModulesLoad(), mode: "0644" },
    [APPLY_PATH]: { content: APPLY_SCRIPT, mode: "0755" },
    [UNATTENDED_UPGRADES_PATH]: { content: renderUnattendedUpgrades(model), mode: "0644" },
  };
  if (model.config.turn === "edge") {
    // It holds the shared secret: readable by coturn's group only.
    bundle[COTURN_CONF_PATH] = { content: renderCoturnConf(model, facts, turnSecret), mode: "0640", group: "turnserver" };
    bundle[COTURN_DROPIN_PATH] = { content: renderCoturnDropIn(model), mode: "0644" };
  }
  if (model.turnTlsName !== undefined) {
    bundle[TURN_CERT_TOOL_PATH] = { content: TURN_CERT_TOOL, mode: "0755" };
    bundle[TURN_CERT_CONF_PATH] = { content: renderTurnCertConf(model), mode: "0644" };
    bundle[TURN_CERT_SERVICE_PATH] = { content: renderTurnCertService(), mode: "0644" };
    bundle[TURN_CERT_TIMER_PATH] = { content: renderTurnCertTimer(), mode: "0644" };
  }
  return withManifest(bundle);
}

export function renderManifest(files: Bundle): string {
  const lines = Object.keys(files)
    .sort()
    .map((path) => `${files[path].mode} root:${files[path].group ?? "root"} ${path}`);
  return [generatedHeader("#", "Files installed by xmpp-edge-apply: mode owner:group path."), ...lines, ""].join("\n");
}

function withManifest(files: Bundle): Bundle {
  return { ...files, [MANIFEST_PATH]: { content: renderManifest(files), mode: "0644" } };
}
