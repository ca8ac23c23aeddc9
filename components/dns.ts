// The Cloudflare records: exactly renderDnsRecordSet(model, edge addresses),
// nothing added. Each record's resource name is its key (type and full name,
// and the edge after the first), so reordering or adding records or edges
// never recreates the others, and the first edge keeps the single-VPS names.
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import type { EdgeModel } from "../model/model";
import { renderDnsRecordSet, type EdgeHost } from "../render/dns";

export interface DnsArgs {
  model: EdgeModel;
  /**
   * Every edge's public addresses, in model.config.edges' order (never a
   * home, tailnet or private address); ipv6 absent for an IPv4-only existing
   * host: no AAAA records for it.
   */
  edges: EdgeHost<pulumi.Input<string>>[];
}

/** Stable per record: the key is unique in renderDnsRecordSet's output. */
export const recordResourceName = (component: string, key: string) => `${component}-${key}`;

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

    this.records = renderDnsRecordSet(args.model, args.edges).map(
      ({ key, record: r }) =>
        new cloudflare.DnsRecord(
          recordResourceName(name, key),
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
