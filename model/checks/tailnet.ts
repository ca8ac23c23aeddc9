// The tailnet: a self-hosted control server (Headscale) and the VPS's tags.
import type { ParsedConfig } from "../config";
import { PROJECT } from "../config";
import { TAILNET_TAG } from "../shapes";
import { show, type Report } from "./report";

export function checkTailnet(p: ParsedConfig, report: Report): void {
  if (p.tailscaleLoginServer !== undefined) {
    if (!/^https?:\/\/[^\s/]+(\/\S*)?$/.test(p.tailscaleLoginServer)) report("tailscaleLoginServer", `${show(p.tailscaleLoginServer)} is not a URL; expected e.g. "https://headscale.example.com"`);
    if (p.tailscaleAuthKey === undefined) report("tailscaleAuthKey", `is required with tailscaleLoginServer (the Tailscale API is not used there); set it with "pulumi config set --secret ${PROJECT}:tailscaleAuthKey KEY"`);
  }
  if (p.tailscaleTags.length === 0) {
    report("tailscaleTags", `is empty; expected at least one tag, e.g. ["tag:xmpp-edge"]: the auth key is tagged with them and tailscaleAclSnippet grants by them`);
  }
  p.tailscaleTags.forEach((t, i) => {
    if (!TAILNET_TAG.test(t)) report(`tailscaleTags[${i}]`, `${show(t)} is not a tailnet tag; expected "tag:name"`);
  });
}
