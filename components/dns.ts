// The Cloudflare records: exactly renderDnsRecords(model, vps addresses),
// nothing added. Each record's resource name is its type and full name, so
// reordering or adding records never recreates the others.
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import type { EdgeModel } from "../model/model";
import { renderDnsRecords, type DnsRecord } from "../render/dns";

export interface DnsArgs {
  model: EdgeModel;
  /** The VPS's public addresses (never a home, tailnet or private address). */
  ipv4: pulumi.Input<string>;
  /** Absent for an IPv4-only existing host: no AAAA records. */
  ipv6?: pulumi.Input<string>;
}

/** Stable per record: type + full name is unique in renderDnsRecords' output. */
export const recordResourceName = (component: string, r: Pick<DnsRecord<unknown>, "type" | "name">) => `${component}-${r.type}-${r.name}`;

export class Dns extends pulumi.ComponentResource {
  readonly zoneId: pulumi.Output<string>;
  readonly records: cloudflare.DnsRecord[];

  constructor(name: string, args: DnsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("xmpp-edge:index:Dns", name, {}, opts);
    const c = args.model.config;
    // loadDeployConfig guarantees one of the two.
    this.zoneId =
      c.cloudflareZoneId !== undefined
        ? pulumi.output(c.cloudflareZoneId)
        : cloudflare.getZoneOutput({ filter: { name: c.zone!, match: "all" } }, { parent: this }).apply((z) => {
            if (!z.id) throw new Error(`Cloudflare zone ${JSON.stringify(c.zone)} not found; set xmpp-edge:cloudflareZoneId`);
            return z.id;
          });

    this.records = renderDnsRecords(args.model, { ipv4: args.ipv4, ipv6: args.ipv6 }).map(
      (r) =>
        new cloudflare.DnsRecord(
          recordResourceName(name, r),
          {
            zoneId: this.zoneId,
            type: r.type,
            name: r.name,
            ttl: r.ttl,
            proxied: r.proxied,
            // SRV: Cloudflare builds content from data; priority goes in both.
            ...(r.data ? { data: r.data, priority: r.priority } : { content: r.content }),
            comment: "managed by xmpp-edge (Pulumi)",
          },
          { parent: this },
        ),
    );
    this.registerOutputs({ zoneId: this.zoneId, records: this.records.map((r) => r.name) });
  }
}
