// The VPS's user-data. Changing it REPLACES the Hetzner server, so it holds
// only what never changes: packages, SSH hardening, the pinned SSH host key
// and the one-time tailnet join. Everything else is pushed over SSH.
import * as YAML from "yaml";
import type { EdgeModel } from "../model/model";
import { TAILNET_INTERFACE } from "../model/net";
import { shellQuote } from "./shell-quote";
import { renderSshdDropIn, SSHD_DROPIN_PATH } from "./sshd";

export const JOIN_SCRIPT_PATH = "/usr/local/sbin/xmpp-edge-join";
export const AUTHKEY_PATH = "/etc/xmpp-edge/tailscale-authkey";
// unattended-upgrades: always installed; the push's apt.conf.d file switches it on or off.
export const VPS_PACKAGES = ["nginx", "libnginx-mod-stream", "nftables", "coturn", "curl", "ca-certificates", "unattended-upgrades"];

export interface CloudInitSecrets {
  /** OpenSSH ED25519 host key pair; the deploy pins the public half. */
  hostKey: { privateKeyOpenssh: string; publicKeyOpenssh: string };
  tailscaleAuthKey: string;
}

/** What the plan shows where a deploy puts a secret. */
export const PLAN_SECRET = (what: string) => `(set at deploy: ${what})`;

/**
 * The tailnet join, as a script of its own so the lab runs exactly this.
 * Installs tailscale from its apt repository unless present (Debian has no
 * package), joins once with the single-use key, then deletes the key.
 */
export function renderJoinScript(model: EdgeModel): string {
  const ts = model.config.tailscale;
  const upArgs = [
    `--auth-key=file:${AUTHKEY_PATH}`,
    `--hostname=${model.config.server.name}`,
    // The edge reaches home by address; a tailnet DNS config (e.g. Headscale
    // without MagicDNS) must not replace the VPS's resolver.
    "--accept-dns=false",
    ...(ts.loginServer ? [`--login-server=${ts.loginServer}`] : []),
  ];
  return `#!/bin/sh
# Joins this VPS to the tailnet (xmpp-edge). Run once by cloud-init; safe to re-run.
set -eu
if ! command -v tailscale >/dev/null 2>&1; then
  . /etc/os-release
  curl -fsSL "https://pkgs.tailscale.com/stable/debian/\${VERSION_CODENAME}.noarmor.gpg" -o /usr/share/keyrings/tailscale-archive-keyring.gpg
  curl -fsSL "https://pkgs.tailscale.com/stable/debian/\${VERSION_CODENAME}.tailscale-keyring.list" -o /etc/apt/sources.list.d/tailscale.list
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y tailscale
fi
if [ -d /run/systemd/system ]; then systemctl enable --now tailscaled; fi
if [ -f ${AUTHKEY_PATH} ]; then
  # The interface name is what the nftables ruleset matches on.
  tailscale up ${upArgs.map(shellQuote).join(" ")}
  rm -f ${AUTHKEY_PATH}
fi
ip link show ${TAILNET_INTERFACE} >/dev/null
`;
}

export function renderCloudInit(model: EdgeModel, secrets: CloudInitSecrets | undefined): string {
  const hostPrivate = secrets?.hostKey.privateKeyOpenssh ?? PLAN_SECRET("secret generated ED25519 SSH host key");
  const hostPublic = secrets?.hostKey.publicKeyOpenssh ?? PLAN_SECRET("its public half, pinned by every SSH connection");
  const authKey = secrets?.tailscaleAuthKey ?? PLAN_SECRET("secret single-use tailnet auth key");
  // Debian 12 keeps the user-data its edges were deployed with, byte for
  // byte: a changed user_data replaces the server. The form below for it
  // makes cloud-init restart sshd once running (set-passwords, the reload),
  // harmless there so far (test:vm's Debian 12 boots).
  const deployedForm = model.config.server.release.codename === "bookworm";
  const doc = {
    package_update: true,
    packages: VPS_PACKAGES,
    ...(deployedForm ? { ssh_pwauth: false } : {}),
    // No ssh_pwauth: the drop-in below says PasswordAuthentication no, and
    // sshd takes the first value (10- before cloud-init's own 50- file).
    // Setting it makes cloud-init restart sshd in its config stage, after
    // sshd has started: a window of refused connections (6 s on an emulated
    // Debian 13 VM) just when the deploy starts dialing.
    disable_root: false,
    // Only our host key: the deploy pins it. Image keys are deleted; ed25519
    // is the only type cloud-init may generate, and ours is already there.
    ssh_deletekeys: true,
    ssh_genkeytypes: ["ed25519"],
    ssh_keys: { ed25519_private: hostPrivate, ed25519_public: hostPublic },
    write_files: [
      {
        path: SSHD_DROPIN_PATH,
        permissions: "0644",
        content: renderSshdDropIn(model.config.server.release),
      },
      { path: AUTHKEY_PATH, permissions: "0600", content: authKey },
      { path: JOIN_SCRIPT_PATH, permissions: "0755", content: renderJoinScript(model) },
    ],
    // No sshd reload either: write_files and the host key run in cloud-init's
    // init stage, which both releases order before ssh.service, so sshd
    // starts with them; a reload (re-exec) would close its port again.
    runcmd: deployedForm ? [["systemctl", "reload", "ssh"], [JOIN_SCRIPT_PATH]] : [[JOIN_SCRIPT_PATH]],
  };
  return "#cloud-config\n" + YAML.stringify(doc, { lineWidth: 0 });
}
