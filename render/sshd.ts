// sshd on the VPS: keys only, nothing forwarded, current algorithms only
// (checked with ssh-audit in the lab and `sshd -t` in test:tools). A
// drop-in: Debian's sshd_config includes sshd_config.d/*.conf first, and the
// first value of a keyword wins.
import type { DebianRelease } from "../model/images";

export const SSHD_DROPIN_PATH = "/etc/ssh/sshd_config.d/10-xmpp-edge.conf";

/**
 * Key exchange: post-quantum hybrids, then curve25519 (Go's x/crypto/ssh,
 * which the Pulumi command provider uses, speaks curve25519). OpenSSH 10
 * (Debian 13) has ML-KEM and prefers it; OpenSSH 9.2 (Debian 12) has only
 * sntrup761, under its @openssh.com name, and refuses the names it lacks.
 */
export function sshKex(release: DebianRelease): string[] {
  const pq = release.version >= 13 ? ["mlkem768x25519-sha256", "sntrup761x25519-sha512", "sntrup761x25519-sha512@openssh.com"] : ["sntrup761x25519-sha512@openssh.com"];
  return [...pq, "curve25519-sha256", "curve25519-sha256@libssh.org"];
}
/** AEAD ciphers first, CTR with encrypt-then-MAC for older clients; the same names on OpenSSH 9.2 and 10. */
export const SSH_CIPHERS = ["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com", "aes128-gcm@openssh.com", "aes256-ctr", "aes192-ctr", "aes128-ctr"];
export const SSH_MACS = ["hmac-sha2-512-etm@openssh.com", "hmac-sha2-256-etm@openssh.com", "umac-128-etm@openssh.com"];
/** The VPS has only its (pinned) ED25519 host key. */
export const SSH_HOST_KEY_ALGORITHMS = ["ssh-ed25519"];

export function renderSshdDropIn(release: DebianRelease): string {
  return [
    "# xmpp-edge (written by cloud-init): keys only, no forwarding, current algorithms only.",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PermitRootLogin prohibit-password",
    "# No TCP, agent, X11 or stream-local forwarding, no tunnels: the deploy needs a shell only.",
    "DisableForwarding yes",
    "# The same, keyword by keyword, so `sshd -T` and a reader see it too.",
    "AllowTcpForwarding no",
    "AllowAgentForwarding no",
    "AllowStreamLocalForwarding no",
    "X11Forwarding no",
    "PermitTunnel no",
    "MaxAuthTries 3",
    "LoginGraceTime 20",
    "MaxStartups 10:30:60",
    "LogLevel VERBOSE",
    `HostKeyAlgorithms ${SSH_HOST_KEY_ALGORITHMS.join(",")}`,
    `KexAlgorithms ${sshKex(release).join(",")}`,
    `Ciphers ${SSH_CIPHERS.join(",")}`,
    `MACs ${SSH_MACS.join(",")}`,
    "",
  ].join("\n");
}
