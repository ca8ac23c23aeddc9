// Stack config for the Pulumi program: the same readPulumiConfig +
// validateConfig as the offline plan (so both fail with the same words), then
// the few checks only a deploy needs (where DNS goes, how to trust an existing
// host). Everything here runs before the first resource is registered.
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_KEYS, configSchema, PROJECT, SECRET_KEYS } from "../model/config";
import { buildModel, type EdgeModel } from "../model/model";
import { ipFamily, isNonPublic } from "../model/net";
import { readPulumiConfig } from "../model/source";
import { ConfigError, validateConfig } from "../model/validate";

/**
 * Keys of `existingHost` a deploy needs beyond {address, user, port}:
 * - hostKey: the host's SSH public key (authorized_keys form), pinned by
 *   every connection. There is no generated host key for a host we did not
 *   create, and an unpinned connection would trust any host.
 * - ipv4 / ipv6: its public addresses, for the DNS records and coturn's
 *   listening-ip/relay-ip. Default: `address` when it is a public address of
 *   that family (the address we SSH to may be a tailnet address or a name).
 * Until model/config.ts declares them, they are taken off the raw object here
 * before validation; once it does, they are read from the validated config.
 */
export const EXISTING_HOST_DEPLOY_KEYS = ["hostKey", "ipv4", "ipv6"] as const;

export interface ExistingHostTarget {
  address: string;
  user: string;
  port: number;
  hostKey: string;
  ipv4: string;
  ipv6: string;
}

export interface StackSecrets {
  tailscaleAuthKey?: pulumi.Output<string>;
  sshPrivateKey?: pulumi.Output<string>;
  turnSecret?: pulumi.Output<string>;
}

export interface DeployConfig {
  model: EdgeModel;
  secrets: StackSecrets;
  existingHost?: ExistingHostTarget;
}

const SSH_PUBLIC_KEY = /^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+={0,3}( \S.*)?$/;
const show = (v: unknown) => JSON.stringify(v);

/** Loads and checks the stack config; throws ConfigError listing every problem. */
export function loadDeployConfig(cfg: pulumi.Config): DeployConfig {
  const isSecretKey = (k: string) => (SECRET_KEYS as readonly string[]).includes(k);
  const raw = readPulumiConfig((k) => cfg.get(k), isSecretKey);
  // readPulumiConfig skips secrets; validation only needs to know they are
  // set (as the plan does with its opaque `{secure: …}` values).
  const secrets: StackSecrets = {};
  for (const key of SECRET_KEYS) {
    const value = cfg.getSecret(key);
    if (value === undefined) continue;
    raw[key] = true;
    secrets[key] = value;
  }
  // Keys of our namespace that the schema does not know (typos): handed to
  // validation like the plan's stack file does, so both report them.
  for (const full of Object.keys(pulumi.runtime.allConfig())) {
    const key = full.startsWith(`${PROJECT}:`) ? full.slice(PROJECT.length + 1) : undefined;
    if (key !== undefined && !(CONFIG_KEYS as string[]).includes(key)) raw[key] = "(set)";
  }
  const extra = takeExistingHostExtras(raw);

  // Invalid config: exactly the plan's error, nothing added.
  const config = validateConfig(raw);

  const problems: string[] = [];
  const report = (key: string, msg: string) => problems.push(`${PROJECT}:${key}: ${msg}`);
  if (config.dns === "cloudflare" && config.cloudflareZoneId === undefined && config.zone === undefined) {
    report("cloudflareZoneId", `is required to create the DNS records (dns "cloudflare"); set it, or zone (the zone is then looked up by name), or dns "off" and create the records from the dnsRecords output yourself`);
  }
  let existingHost: ExistingHostTarget | undefined;
  if (config.existingHost) {
    const h = { ...extra, ...(config.existingHost as Record<string, unknown>) } as Record<string, unknown>;
    const hostKey = typeof h.hostKey === "string" ? h.hostKey.trim() : undefined;
    if (hostKey === undefined || !SSH_PUBLIC_KEY.test(hostKey)) {
      report("existingHost.hostKey", `${hostKey === undefined ? "is required" : `${show(h.hostKey)} is not an SSH public key`} with existingHost: every connection pins the host's key; expected its public host key like "ssh-ed25519 AAAA…" (ssh-keyscan -t ed25519 ${config.existingHost.address}, checked out of band)`);
    }
    const address = (family: 4 | 6): string | undefined => {
      const key = `ipv${family}`;
      const given = h[key];
      if (given !== undefined) {
        if (typeof given !== "string" || ipFamily(given) !== family || isNonPublic(given)) {
          report(`existingHost.${key}`, `${show(given)} is not a public IPv${family} address; the DNS records and coturn need the host's public address`);
          return undefined;
        }
        return given;
      }
      const a = config.existingHost!.address;
      if (ipFamily(a) === family && !isNonPublic(a)) return a;
      report(`existingHost.${key}`, `is required: the DNS records and coturn need the host's public IPv${family} address, and address ${show(a)} is not one`);
      return undefined;
    };
    const ipv4 = address(4);
    const ipv6 = address(6);
    if (!config.deployKey.privateKeySet) {
      report("sshPrivateKey", `is required with existingHost: a generated key is not authorized on a host this stack did not create; set sshPublicKey and, as a secret, sshPrivateKey to a key the host accepts for ${show(config.existingHost.user)}`);
    }
    if (hostKey && ipv4 && ipv6) existingHost = { ...config.existingHost, hostKey, ipv4, ipv6 };
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { model: buildModel(config), secrets, existingHost };
}

/** Removes the deploy-only keys from raw.existingHost unless the schema already declares them. */
function takeExistingHostExtras(raw: Record<string, unknown>): Record<string, unknown> {
  const host = raw.existingHost;
  if (host === null || typeof host !== "object" || Array.isArray(host)) return {};
  const declared = Object.keys(configSchema.shape.existingHost.unwrap().shape);
  const rest: Record<string, unknown> = { ...(host as Record<string, unknown>) };
  const extra: Record<string, unknown> = {};
  for (const key of EXISTING_HOST_DEPLOY_KEYS) {
    if (declared.includes(key) || !(key in rest)) continue;
    extra[key] = rest[key];
    delete rest[key];
  }
  raw.existingHost = rest;
  return extra;
}
