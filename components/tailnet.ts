// The tailnet side: the VPS's one-time join key, the home server's tailnet
// addresses, and the ACL snippet (render/tailscale-acl.ts) wired to them.
// With Tailscale (no tailscaleLoginServer) this uses the Tailscale API; with
// Headscale nothing here touches an API: the join key comes from config and
// the home address must be configured.
import * as pulumi from "@pulumi/pulumi";
import * as tailscale from "@pulumi/tailscale";
import { createHash } from "node:crypto";
import { forEdge, type EdgeModel } from "../model/model";
import { inCidr, ipFamily, TAILNET_IPV4_RANGE, TAILNET_IPV6_RANGE } from "../model/net";
import { renderCloudInit } from "../render/cloud-init";
import { renderAclSnippet } from "../render/tailscale-acl";

export interface TailnetArgs {
  model: EdgeModel;
  /** A pre-auth key from config (Headscale, or a key made outside this stack); secret. */
  configAuthKey?: pulumi.Input<string>;
  /** Per edge (model.config.edges' order): whether this stack creates a server that joins the tailnet (false for an existing host). */
  joinsServer: boolean[];
}

/** Seconds the single-use key stays valid: long enough for the server to boot and join. */
export const AUTH_KEY_EXPIRY_SECONDS = 3600;
/**
 * What replaces the server besides its keys: image, location, the model's
 * part of cloud-init, the deployer key. The single-use key is spent once the
 * server has joined, so a replacement needs a fresh one: this fingerprint is
 * in the key's description (a change recreates the key), and it changes only
 * when the server is replaced anyway. Never with ports, records or forwards.
 */
export function joinFingerprint(model: EdgeModel): string {
  const c = model.config;
  const parts = [c.server.image, c.server.location, renderCloudInit(model, undefined), c.deployKey.publicKey ?? "generated deploy key"];
  return createHash("sha256").update(parts.join("\n")).digest("hex").slice(0, 12);
}

/** A device's tailnet addresses, split by family. */
export function tailnetAddresses(addresses: string[]): { ipv4?: string; ipv6?: string } {
  return {
    ipv4: addresses.find((a) => ipFamily(a) === 4 && inCidr(a, TAILNET_IPV4_RANGE)),
    ipv6: addresses.find((a) => ipFamily(a) === 6 && inCidr(a, TAILNET_IPV6_RANGE)),
  };
}

export class Tailnet extends pulumi.ComponentResource {
  /**
   * Per edge, the key its cloud-init joins with (secret); undefined where
   * nothing joins. Each created server gets its own single-use key; a key
   * from config is the same for all (Headscale: make it reusable for several).
   */
  readonly authKeys: (pulumi.Output<string> | undefined)[];
  readonly homeIPv4: pulumi.Output<string>;
  readonly homeIPv6: pulumi.Output<string | undefined>;
  readonly aclSnippet: pulumi.Output<string>;
  /** True when the Tailscale API may be asked about devices (Tailscale, key made here). */
  readonly usesApi: boolean;

  constructor(name: string, args: TailnetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("xmpp-edge:index:Tailnet", name, {}, opts);
    const c = args.model.config;
    const ts = c.tailscale;
    // A key from config means "do not use the API for it" (Headscale always).
    this.usesApi = ts.loginServer === undefined && args.configAuthKey === undefined;

    this.authKeys = args.joinsServer.map((joins, i) => {
      if (args.configAuthKey !== undefined) return pulumi.secret(args.configAuthKey);
      if (!joins || ts.loginServer !== undefined) return undefined;
      // The first edge keeps the single-VPS stack's resource name.
      const suffix = i === 0 ? "" : `-${c.edges[i].name}`;
      const key = new tailscale.TailnetKey(
        `${name}-vps-key${suffix}`,
        {
          // Letters, digits, spaces and hyphens, at most 50.
          description: `xmpp-edge join ${joinFingerprint(forEdge(args.model, i))}`,
          reusable: false,
          preauthorized: true,
          ephemeral: false,
          tags: ts.tags,
          expiry: AUTH_KEY_EXPIRY_SECONDS,
          // Used or expired, the key stays in state: a new key would change
          // cloud-init and so replace the server. A replacement renews it
          // through the description (joinFingerprint).
          recreateIfInvalid: "never",
        },
        { parent: this, additionalSecretOutputs: ["key"] },
      );
      return pulumi.secret(key.key);
    });

    if (c.home.ipv4 !== undefined) {
      this.homeIPv4 = pulumi.output(c.home.ipv4);
      this.homeIPv6 = pulumi.output(c.home.ipv6);
    } else {
      // Validation allows homeTailnetHostname alone only with Tailscale.
      const home = tailscale.getDeviceOutput({ hostname: c.home.hostname! }, { parent: this }).apply((d) => tailnetAddresses(d.addresses));
      this.homeIPv4 = home.apply((h) => {
        if (!h.ipv4) throw new Error(`${c.home.hostname}: the tailnet device has no IPv4 address in ${TAILNET_IPV4_RANGE}; set xmpp-edge:homeTailnetIPv4`);
        return h.ipv4;
      });
      this.homeIPv6 = home.apply((h) => c.home.ipv6 ?? h.ipv6);
    }

    this.aclSnippet = pulumi.all([this.homeIPv4, this.homeIPv6]).apply(([ipv4, ipv6]) => renderAclSnippet(args.model, { ipv4, ipv6 }));
    this.registerOutputs({ homeIPv4: this.homeIPv4, homeIPv6: this.homeIPv6, aclSnippet: this.aclSnippet });
  }

  /**
   * The VPS's tailnet IPv4, looked up once the server is ready (Vps.ready:
   * cloud-init, and so the join, done). Never waits: the wait for a new
   * server is the readiness command, which runs only in the update that
   * creates or replaces it; a preview or a later update asks once and fails
   * at once if the device is gone. Only with the API; undefined otherwise
   * (Headscale, or a key from config): the address is then unknown to the deploy.
   * Home trusts the confirm's report first (index.ts); this is where a
   * tailnet-only deploy connects, and home's fallback.
   * `model`: the edge's own (forEdge), whose server name is its device's hostname.
   */
  vpsTailnetIPv4(model: EdgeModel, ready: pulumi.Resource): pulumi.Output<string> | undefined {
    if (!this.usesApi) return undefined;
    const name = model.config.server.name;
    const tags = model.config.tailscale.tags;
    return tailscale
      .getDevicesOutput({ filters: [{ name: "hostname", values: [name] }] }, { parent: this, dependsOn: [ready] })
      .apply((r) => joinedDeviceIPv4(name, tags, r.devices ?? []));
  }
}

export interface TailnetDevice {
  hostname: string;
  created: string;
  addresses: string[];
  tags?: string[];
  authorized?: boolean;
}

/**
 * The tailnet IPv4 of the device the server joined as. Any member may
 * register a device with any hostname, so the name alone proves nothing:
 * the server's device carries every one of the edge's tags, which only this
 * stack's key (tags fixed at creation) or a tag owner (tagOwners:
 * autogroup:admin) can give a device. A replaced server joins as a new
 * device with the same name and tags: the newest of those is the server.
 */
export function joinedDeviceIPv4(name: string, tags: string[], devices: TailnetDevice[]): string {
  const named = devices.filter((d) => d.hostname === name);
  const mine = named.filter((d) => d.authorized !== false && tags.every((t) => d.tags?.includes(t))).sort((a, b) => b.created.localeCompare(a.created));
  if (mine.length === 0) {
    const others = named.length === 0 ? "" : ` (${named.length} device(s) with that hostname lack the tags ${tags.join(", ")} or are not authorized: not the server, and never trusted)`;
    throw new Error(
      `tailnet device "${name}" with the tags ${tags.join(", ")} is not in the tailnet${others}: the server never joined, or its device was removed. ` +
        `On the server, /var/log/cloud-init-output.log shows the join (xmpp-edge-join); ` +
        `to join a fresh server, replace it: pulumi up --replace <the urn of the hcloud Server "vps">`,
    );
  }
  const ipv4 = tailnetAddresses(mine[0].addresses).ipv4;
  if (!ipv4) throw new Error(`tailnet device "${name}" has no IPv4 address in ${TAILNET_IPV4_RANGE}`);
  return ipv4;
}
