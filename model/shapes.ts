// The textual shapes config values must have, one pattern per shape. Every
// check of a name, a tag or a key uses these, so a shape cannot be matched
// two different ways in two places.

/** One DNS label / host name: lower-case letters, digits, inner hyphens, 1-63 characters. */
export const HOST_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A fully qualified DNS name without trailing dot, lower case, at least two labels, not an all-numeric TLD. */
export function isHostname(name: string): boolean {
  if (name.length > 253) return false;
  const labels = name.split(".");
  return labels.length >= 2 && labels.every((l) => HOST_LABEL.test(l)) && !/^\d+$/.test(labels[labels.length - 1]);
}

/** name == zone or name is below zone. */
export function isInZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

/** A Tailscale ACL tag. */
export const TAILNET_TAG = /^tag:[a-z0-9][a-z0-9-]*$/i;

/** Hetzner server type, location and image names (the API names which exist). */
export const HETZNER_NAME = /^[a-z0-9][a-z0-9.-]*$/;

/** An OpenSSH public key line: type, base64 blob, optional comment (printable ASCII: it lands in authorized_keys and outputs). */
export const SSH_PUBLIC_KEY = /^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+={0,3}( [\x21-\x7e][\x20-\x7e]*)?$/;

/** A Cloudflare zone id: 32 lower-case hex digits. */
export const CLOUDFLARE_ZONE_ID = /^[0-9a-f]{32}$/;

/**
 * A free-text label that reaches generated files (PLAN.md tables, firewall
 * descriptions, comments): letters, digits, spaces and a little punctuation;
 * no quotes, newlines, `#`, `;`, `|`, `$` or backslashes.
 */
export const LABEL_TEXT = /^[A-Za-z0-9][A-Za-z0-9 ._,:()/+-]{0,79}$/;

/** A Linux network interface name (IFNAMSIZ: at most 15 characters; no "/", ":" or spaces). */
export const INTERFACE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

/** A POSIX user name (what `ssh user@host` may carry). */
export const UNIX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;

/** The characters a URL may have here: no spaces, quotes, `$`, `;`, `&`, backslashes or other shell characters. */
export const URL_TEXT = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[A-Za-z0-9._~:/[\]-]+$/;
