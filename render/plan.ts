// The offline plan as data: every output file by its path relative to the
// plan directory. Pure; scripts/plan.ts does the disk and the arguments.
import { buildModel, type EdgeModel, type HostFacts } from "../model/model";
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

export interface Plan {
  model: EdgeModel;
  facts: HostFacts;
  /** The vps/ files with their modes (also in files, under "vps/…"). */
  bundle: Bundle;
  files: Record<string, string>;
}

/** From a stack's config (model/source.ts) or, in tests, a raw config object. */
export function makePlan(input: StackConfig | Record<string, unknown>, opts: PlanOptions = {}): Plan {
  const model = buildModel(isStackConfig(input) ? loadConfig(input) : validateConfig(input));
  const c = model.config;
  const notes: string[] = [];
  // An existing host's addresses are known; a new VPS's only once it exists.
  const known = c.existingHost ? { ipv4: c.existingHost.ipv4, ipv6: c.existingHost.ipv6 } : undefined;
  const vpsIPv4 = opts.vpsIPv4 ?? known?.ipv4 ?? EXAMPLE_VPS_IPV4;
  const vpsIPv6 = opts.vpsIPv6 ?? (known ? known.ipv6 : EXAMPLE_VPS_IPV6);
  if (!known && (!opts.vpsIPv4 || !opts.vpsIPv6)) notes.push(`VPS addresses are documentation addresses (${EXAMPLE_VPS_IPV4}, ${EXAMPLE_VPS_IPV6}) until the VPS exists; pass --vps-ipv4/--vps-ipv6 to render the real ones.`);
  const homeIPv4 = c.home.ipv4 ?? opts.homeIPv4 ?? EXAMPLE_HOME_IPV4;
  if (!c.home.ipv4) notes.push(`The home address is looked up in the tailnet at deploy (${c.home.hostname}); ${homeIPv4} stands in for it here.`);
  if (!c.home.ipv6) notes.push("No homeTailnetIPv6: IPv6 clients are not forwarded on the DNAT ports (they fall back to IPv4).");
  notes.push("Secrets (TURN secret, SSH host key, tailnet auth key) are not part of the plan; a deploy adds them.");
  const facts: HostFacts = { vpsIPv4, vpsIPv6, homeIPv4, homeIPv6: c.home.ipv6 };

  const records = renderDnsRecords(model, { ipv4: facts.vpsIPv4, ipv6: facts.vpsIPv6 });
  // Only a VPS this stack creates gets a Hetzner firewall and a cloud-init (components/vps.ts).
  const firewall = c.existingHost ? undefined : renderFirewallRules(model);
  const files: Record<string, string> = {};
  const bundle = renderVpsBundle(model, facts, undefined);
  for (const [path, f] of Object.entries(bundle)) files[`vps${path}`] = f.content;
  if (!c.existingHost) files["cloud-init.yaml"] = renderCloudInit(model, undefined);
  files["dns.json"] = JSON.stringify(records, null, 2) + "\n";
  // The tailscaleAclSnippet output, with the home address the plan shows.
  files["tailscale-acl.json"] = renderAclSnippet(model, { ipv4: facts.homeIPv4, ipv6: facts.homeIPv6 });
  if (firewall) files["firewall.json"] = JSON.stringify(firewall, null, 2) + "\n";
  for (const [name, text] of Object.entries(renderHomeSnippets(model, facts, undefined))) files[`home/${name}`] = text;
  files["PLAN.md"] = renderPlanMd(model, facts, records, firewall, notes);
  return { model, facts, bundle, files };
}
