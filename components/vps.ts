// The Hetzner VPS: primary IPs, cloud firewall, deployer key, server, rDNS.
// The server is replaced whenever userData, sshKeys, image or location
// change, so its inputs come only from things that never move with the
// forwarded ports or records: the generated host key, the single-use tailnet
// key, and the parts of the model cloud-init reads (server name, tailnet
// settings). Ports, records and forwards reach the host by the push instead.
import * as command from "@pulumi/command";
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import * as ipaddr from "ipaddr.js";
import type { EdgeModel } from "../model/model";
import { renderCloudInit } from "../render/cloud-init";
import { renderFirewallRules } from "../render/firewall";
import { derive } from "./maybe-absent";

export interface VpsArgs {
  model: EdgeModel;
  /** Single-use pre-auth key for the tailnet join in cloud-init (secret). */
  tailscaleAuthKey: pulumi.Input<string>;
  /** The deployer's OpenSSH public key; default: an ED25519 key generated here (see deployPrivateKey). */
  deployPublicKey?: pulumi.Input<string>;
  /** Its private key (secret), given with deployPublicKey. */
  deployPrivateKey?: pulumi.Input<string>;
  /**
   * Another edge's VPS whose deploy key this one shares (several edges):
   * Hetzner refuses a second SSH key with the same fingerprint in a
   * project, and one key is what the deployer keeps anyway.
   */
  deployKeyFrom?: Vps;
}

/** Connection attempts while a new server boots (sshd starts after cloud-init wrote our host key). */
export const BOOT_DIAL_ATTEMPTS = 60;

/**
 * Waits for cloud-init. Exit 2 is "done with recoverable errors" (cloud-init
 * 23.4+), e.g. a deprecation warning: the tailnet join itself fails hard.
 */
export const WAIT_COMMAND = 'rc=0; cloud-init status --wait >/dev/null || rc=$?; if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then cloud-init status --long; exit 1; fi';

export const SERVER_LABELS = { "managed-by": "pulumi", app: "xmpp-edge" };

/**
 * A Hetzner IPv6 primary IP is a /64; the server answers on its first address
 * (`::1`, what Server.ipv6Address reports). Derived from the primary IP, not
 * the server, so the address survives a server replacement unchanged.
 */
export function firstAddressOfNetwork(network: string): string {
  const cidr = network.includes("/") ? network : `${network}/64`;
  const bytes = ipaddr.IPv6.networkAddressFromCIDR(cidr).toByteArray();
  bytes[15] += 1; // a /64's network address ends in zero bytes: no carry
  return ipaddr.fromByteArray(bytes).toString();
}

/**
 * What the preview and the update say before anything happens when the
 * deployed server of this name runs another image: the server is replaced,
 * and the old one deleted first. undefined when nothing is replaced by it.
 */
export function imageChangeWarning(serverName: string, deployedImage: string | undefined, image: string): string | undefined {
  if (!deployedImage || deployedImage === image) return undefined;
  return `${serverName}: image ${deployedImage} -> ${image} REPLACES this server: it is deleted before the new one boots, joins and takes its push (minutes without this edge). To keep it, set its image back to ${deployedImage}; without an outage: docs/operating.md, "Replacing an edge".`;
}

/** An OpenSSH public key in authorized_keys form ("ssh-ed25519 AAAA…"), as connection.hostKey wants it. */
export const authorizedKey = (key: pulumi.Input<string>) => derive([key], (k) => k.trim());

export class Vps extends pulumi.ComponentResource {
  readonly ipv4: pulumi.Output<string>;
  readonly ipv6: pulumi.Output<string>;
  readonly ipv6Network: pulumi.Output<string>;
  /** The pinned SSH host key, authorized_keys form. */
  readonly hostKey: pulumi.Output<string>;
  readonly deployPublicKey: pulumi.Output<string>;
  /** Only when the key is generated here; secret. */
  readonly deployPrivateKey?: pulumi.Output<string>;
  readonly serverId: pulumi.Output<string>;
  /** The Hetzner SSH key the server is created with (shared by later edges). */
  readonly sshKeyId: pulumi.Output<string>;
  readonly server: hcloud.Server;
  /**
   * Done when the server answers SSH with the pinned host key and cloud-init
   * has finished, so it has joined the tailnet. Runs only in the update that
   * creates or replaces the server (its trigger is the server id): everything
   * that waits for the new server waits for this, and nothing waits otherwise.
   */
  readonly ready: command.remote.Command;

  constructor(name: string, args: VpsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("xmpp-edge:index:Vps", name, {}, opts);
    const c = args.model.config;
    const s = c.server;
    const parent = { parent: this };

    // Generated into cloud-init, so the first connection can already pin it.
    const hostKey = new tls.PrivateKey(`${name}-host-key`, { algorithm: "ED25519" }, parent);
    this.hostKey = authorizedKey(hostKey.publicKeyOpenssh);

    if (args.deployKeyFrom) {
      this.deployPublicKey = args.deployKeyFrom.deployPublicKey;
      this.deployPrivateKey = args.deployKeyFrom.deployPrivateKey;
      this.sshKeyId = args.deployKeyFrom.sshKeyId;
    } else {
      let deployPublicKey: pulumi.Input<string>;
      if (args.deployPublicKey !== undefined) {
        deployPublicKey = args.deployPublicKey;
      } else {
        const deployKey = new tls.PrivateKey(`${name}-deploy-key`, { algorithm: "ED25519" }, parent);
        deployPublicKey = authorizedKey(deployKey.publicKeyOpenssh);
        this.deployPrivateKey = pulumi.secret(deployKey.privateKeyOpenssh);
      }
      this.deployPublicKey = pulumi.output(deployPublicKey);
      this.sshKeyId = new hcloud.SshKey(`${name}-deploy`, { name: `${s.name}-deploy`, publicKey: deployPublicKey, labels: SERVER_LABELS }, parent).id;
    }

    // Primary IPs outlive the server (autoDelete false): records, rDNS and
    // the push's connection keep their address across a replacement.
    // No assigneeType: the provider warns that it belongs only with an
    // assigneeId (the server takes the IPs through publicNets). Stacks
    // created with "server" keep it through ignoreChanges, so that an address
    // can never be replaced over a property that no longer matters.
    const ip = (type: "ipv4" | "ipv6") =>
      new hcloud.PrimaryIp(
        `${name}-${type}`,
        { name: `${s.name}-${type}`, type, location: s.location, autoDelete: false, labels: SERVER_LABELS },
        { parent: this, ignoreChanges: ["assigneeType"] },
      );
    const ipv4 = ip("ipv4");
    const ipv6 = ip("ipv6");
    this.ipv4 = ipv4.ipAddress;
    this.ipv6Network = pulumi.all([ipv6.ipNetwork, ipv6.ipAddress]).apply(([net, addr]) => net || addr);
    this.ipv6 = derive([this.ipv6Network], firstAddressOfNetwork);

    // Rules change in place; the server only holds the firewall's id.
    const firewall = new hcloud.Firewall(
      `${name}-firewall`,
      {
        name: s.name,
        labels: SERVER_LABELS,
        rules: renderFirewallRules(args.model).map((r) => ({ direction: r.direction, protocol: r.protocol, port: r.port, sourceIps: r.sourceIps, description: r.description })),
      },
      parent,
    );

    const userData = derive([hostKey.privateKeyOpenssh, hostKey.publicKeyOpenssh, args.tailscaleAuthKey], (privateKeyOpenssh, publicKeyOpenssh, tailscaleAuthKey) =>
      renderCloudInit(args.model, { hostKey: { privateKeyOpenssh, publicKeyOpenssh }, tailscaleAuthKey }),
    );

    this.server = new hcloud.Server(
      name,
      {
        name: s.name,
        serverType: s.type,
        location: s.location,
        image: s.image,
        publicNets: [{ ipv4Enabled: true, ipv4: ipv4.id.apply(Number), ipv6Enabled: true, ipv6: ipv6.id.apply(Number) }],
        firewallIds: [firewall.id.apply(Number)],
        userData: pulumi.secret(userData),
        sshKeys: [this.sshKeyId],
        labels: SERVER_LABELS,
      },
      // The name and the primary IPs can belong to one server at a time: the
      // old one has to go before its replacement is created.
      { parent: this, deleteBeforeReplace: true },
    );
    this.serverId = this.server.id;

    // The deployed server's image, from Hetzner (our labels, this name): a
    // different one replaces the server, which the preview must say in words.
    hcloud
      .getServersOutput({ withSelector: Object.entries(SERVER_LABELS).map(([k, v]) => `${k}=${v}`).join(",") }, { parent: this })
      .servers.apply((servers) => {
        const warning = imageChangeWarning(s.name, servers.find((x) => x.name === s.name)?.image, s.image);
        if (warning) pulumi.log.warn(warning, this.server);
      });

    // PTR on the primary IPs (not the server): kept across replacements.
    const rdns = (family: string, ipRes: hcloud.PrimaryIp, address: pulumi.Input<string>) =>
      new hcloud.Rdns(`${name}-rdns-${family}`, { primaryIpId: ipRes.id.apply(Number), ipAddress: address, dnsPtr: c.xmppHost }, { parent: this, dependsOn: [this.server] });
    rdns("ipv4", ipv4, this.ipv4);
    rdns("ipv6", ipv6, this.ipv6);

    // With sshAllowFrom ["tailnet"] the server is reached by its MagicDNS
    // name here: its tailnet address is looked up only once it is ready.
    this.ready = new command.remote.Command(
      `${name}-ready`,
      {
        connection: {
          host: c.ssh.mode === "tailnet" ? s.name : this.ipv4,
          port: 22,
          user: "root",
          privateKey: pulumi.secret(args.deployPrivateKey ?? this.deployPrivateKey!),
          hostKey: this.hostKey,
          dialErrorLimit: BOOT_DIAL_ATTEMPTS,
          perDialTimeout: 10,
        },
        create: WAIT_COMMAND,
        triggers: [this.serverId],
        addPreviousOutputInEnv: false,
      },
      // It was the push's child "push-wait" before it moved here: same resource.
      { parent: this, aliases: [{ name: "push-wait", parent: pulumi.createUrn("push", "xmpp-edge:index:Push") }] },
    );

    this.registerOutputs({ ipv4: this.ipv4, ipv6: this.ipv6, hostKey: this.hostKey, serverId: this.serverId, deployPublicKey: this.deployPublicKey });
  }
}
