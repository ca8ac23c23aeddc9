// sshd on the VPS: keys only, nothing forwarded, current algorithms only
// (checked with ssh-audit in the lab and `sshd -t` in test:tools). A
// drop-in: Debian's sshd_config includes sshd_config.d/*.conf first, and the
// first value of a keyword wins.
export const SSHD_DROPIN_PATH = "/etc/ssh/sshd_config.d/10-xmpp-edge.conf";

/**
 * OpenSSH 9.2 (Debian 12) names. Post-quantum hybrid and curve25519 key
 * exchange; AEAD ciphers first, CTR with encrypt-then-MAC for older clients
 * (Go's x/crypto/ssh, which the Pulumi command provider uses, speaks these).
 */
export const SSH_KEX = ["sntrup761x25519-sha512@openssh.com", "curve25519-sha256", "curve25519-sha256@libssh.org"];
export const SSH_CIPHERS = ["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com", "aes128-gcm@openssh.com", "aes256-ctr", "aes192-ctr", "aes128-ctr"];
export const SSH_MACS = ["hmac-sha2-512-etm@openssh.com", "hmac-sha2-256-etm@openssh.com", "umac-128-etm@openssh.com"];
/** The VPS has only its (pinned) ED25519 host key. */
export const SSH_HOST_KEY_ALGORITHMS = ["ssh-ed25519"];

export function renderSshdDropIn(): string {
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
    `KexAlgorithms ${SSH_KEX.join(",")}`,
    `Ciphers ${SSH_CIPHERS.join(",")}`,
    `MACs ${SSH_MACS.join(",")}`,
    "",
  ].join("\n");
}
