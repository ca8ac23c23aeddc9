// The offline plan as data: every output file by its path relative to the
// plan directory. Pure; scripts/plan.ts does the disk and the arguments.
import { buildModel, forEdge, reservedLocalPorts, type EdgeModel, type HostFacts } from "../model/model";
import { ephemeralLeft } from "../model/ports";
import { isStackConfig, loadConfig, type StackConfig } from "../model/source";
import { validateConfig } from "../model/validate";
import { renderVpsBundle, type Bundle } from "./bundle";
import { renderCloudInit } from "./cloud-init";
import { renderDnsRecords } from "./dns";
import { renderFirewallRules } from "./firewall";
import { renderHomeSnippets } from "./home";
import { renderPlanMd } from "./plan-md";
import { renderAclSnippet } from "./tailscale-acl";

/** Documentation addresses (RFC 5737 / RFC 3849) stand in for the VPS until it exists. */
export const EXAMPLE_VPS_IPV4 = "192.0.2.10";
export const EXAMPLE_VPS_IPV6 = "2001:db8::10";
/** Shown when the home address is only looked up at deploy (homeTailnetHostname). */
export const EXAMPLE_HOME_IPV4 = "100.64.0.1";

export interface PlanOptions {
  vpsIPv4?: string;
  vpsIPv6?: string;
  homeIPv4?: string;
}

/** One edge in the plan: its model (forEdge), facts and bundle, and where its files go. */
export interface PlanEdge {
  model: EdgeModel;
  facts: HostFacts;
  bundle: Bundle;
  /** "" for the first edge (vps/, cloud-init.yaml at the top, as with one edge), "edges/<name>/" for the others. */
  dir: string;
}

export interface Plan {
  model: EdgeModel;
  /** The first edge's. */
  facts: HostFacts;
  /** The first edge's vps/ files with their modes (also in files, under "vps/…"). */
  bundle: Bundle;
  /** Every edge, the first one first. */
  edges: PlanEdge[];
  files: Record<string, string>;
  /** The mode of every file written (the bundles' own; 0644 otherwise). */
  modes: Record<string, string>;
}

/** Documentation addresses for edge `index` until it exists: 192.0.2.10, .11, …; 2001:db8::10, ::11, … */
export function exampleAddresses(index: number): { ipv4: string; ipv6: string } {
  return { ipv4: `192.0.2.${10 + index}`, ipv6: `2001:db8::${(0x10 + index).toString(16)}` };
}

/** From a stack's config (model/source.ts) or, in tests, a raw config object. */
export function makePlan(input: StackConfig | Record<string, unknown>, opts: PlanOptions = {}): Plan {
  const model = buildModel(isStackConfig(input) ? loadConfig(input) : validateConfig(input));
  const c = model.config;
  const notes: string[] = [];
  const homeIPv4 = c.home.ipv4 ?? opts.homeIPv4 ?? EXAMPLE_HOME_IPV4;
  // An existing host's addresses are known; a new VPS's only once it exists (the flags give the first edge's).
  let documentation = false;
  const edges: PlanEdge[] = c.edges.map((e, i) => {
    const em = forEdge(model, i);
    const known = e.existingHost ? { ipv4: e.existingHost.ipv4, ipv6: e.existingHost.ipv6 } : undefined;
    const example = exampleAddresses(i);
    const flagged = i === 0 ? { ipv4: opts.vpsIPv4, ipv6: opts.vpsIPv6 } : {};
    const vpsIPv4 = flagged.ipv4 ?? known?.ipv4 ?? example.ipv4;
    const vpsIPv6 = flagged.ipv6 ?? (known ? known.ipv6 : example.ipv6);
    if (!known && (!flagged.ipv4 || !flagged.ipv6)) documentation = true;
    const facts: HostFacts = { vpsIPv4, vpsIPv6, homeIPv4, homeIPv6: c.home.ipv6 };
    return { model: em, facts, bundle: renderVpsBundle(em, facts, undefined), dir: i === 0 ? "" : `edges/${e.name}/` };
  });
  if (documentation) {
    notes.push(
      c.edges.length === 1
        ? `VPS addresses are documentation addresses (${EXAMPLE_VPS_IPV4}, ${EXAMPLE_VPS_IPV6}) until the VPS exists; pass --vps-ipv4/--vps-ipv6 to render the real ones.`
        : `Edges this stack creates have documentation addresses (${EXAMPLE_VPS_IPV4}, ${EXAMPLE_VPS_IPV6}, then .11, ::11, …) until they exist; --vps-ipv4/--vps-ipv6 give the first edge's real ones.`,
    );
  }
  // As components/tailnet.ts does: without homeTailnetIPv4 the device is looked up, and its IPv6 with it.
  if (!c.home.ipv4) {
    notes.push(
      `The home address is looked up in the tailnet at deploy (${c.home.hostname}); ${homeIPv4} stands in for it here.` +
        (c.home.ipv6 ? "" : " Its IPv6 address is looked up too: when the device has one, IPv6 clients of the DNAT ports are forwarded to it (without one they fall back to IPv4)."),
    );
  } else if (!c.home.ipv6) {
    // nginx's connections to one home port then have IPv4's source ports only (render/nginx.ts homeServers).
    const ports = ephemeralLeft(reservedLocalPorts(model));
    notes.push(
      `No homeTailnetIPv6: IPv6 clients are not forwarded on the DNAT ports (they fall back to IPv4), and nginx's sessions to one home port have IPv4's ${ports.toLocaleString("en-US")} source ports only: ${Math.ceil(ports / model.sourceLimits.connections).toLocaleString("en-US")} sources at ${model.sourceLimits.connections} connections each hold them all (with it, twice as many; docs/security.md, "Many sources holding idle sessions").`,
    );
  }
  const hetzner = c.edges.filter((e) => !e.existingHost);
  if (hetzner.length > 0) {
    const images = [...new Map(hetzner.map((e) => [e.image, `\`${e.image}\` (Debian ${e.release.version} ${e.release.codename})`])).values()];
    notes.push(
      `Image ${images.join(", ")}. Changing \`image\` or \`location\` REPLACES the server: the old one is deleted before the new one boots, joins and gets its push (minutes without this edge; the preview shows the server as replaced). Without an outage: docs/operating.md, "Replacing an edge".`,
    );
  }
  notes.push("Secrets (TURN secret, SSH host key, tailnet auth key) are not part of the plan; a deploy adds them.");
  const facts = edges[0].facts;
  const bundle = edges[0].bundle;

  const records = renderDnsRecords(model, edges.map((e) => ({ ipv4: e.facts.vpsIPv4, ipv6: e.facts.vpsIPv6 })));
  // Only a VPS this stack creates gets a Hetzner firewall and a cloud-init (components/vps.ts); the rules are the same for every such edge.
  const created = edges.filter((e) => !e.model.config.existingHost);
  const firewall = created.length > 0 ? renderFirewallRules(created[0].model) : undefined;
  const files: Record<string, string> = {};
  const modes: Record<string, string> = {};
  for (const e of edges) {
    for (const [path, f] of Object.entries(e.bundle)) {
      files[`${e.dir}vps${path}`] = f.content;
      modes[`${e.dir}vps${path}`] = f.mode;
    }
    if (!e.model.config.existingHost) files[`${e.dir}cloud-init.yaml`] = renderCloudInit(e.model, undefined);
  }
  files["dns.json"] = JSON.stringify(records, null, 2) + "\n";
  // The tailscaleAclSnippet output, with the home address the plan shows.
  files["tailscale-acl.json"] = renderAclSnippet(model, { ipv4: facts.homeIPv4, ipv6: facts.homeIPv6 });
  if (firewall) files["firewall.json"] = JSON.stringify(firewall, null, 2) + "\n";
  // Home trusts every edge's tailnet address; the plan knows none of them.
  const homeFacts: HostFacts = c.edges.length > 1 ? { ...facts, edgeTailnetIPv4s: edges.map(() => undefined) } : facts;
  for (const [name, text] of Object.entries(renderHomeSnippets(model, homeFacts, undefined))) files[`home/${name}`] = text;
  files["PLAN.md"] = renderPlanMd(model, facts, records, firewall, notes, edges.map((e, i) => ({ spec: c.edges[i], ipv4: e.facts.vpsIPv4, ipv6: e.facts.vpsIPv6 })));
  return { model, facts, bundle, edges, files, modes };
}
