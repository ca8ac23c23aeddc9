// Small stack configs for the tests: a valid base and overrides.
import { buildModel, type EdgeModel, type HostFacts } from "../model/model";
import { validateConfig } from "../model/validate";

/** Real public keys (the engine lab's), since validation parses keys: host key and deployer key, "type base64". */
export const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAgyknv0a/Y7yQwhrpGHFCfhnHgZPKga5libv3lxSCmd";
export const DEPLOY_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFTE9nkIjDQ9Ebem7mV8BQcjd6rW7TAw8gzlkJsDVLge";

export const BASE: Record<string, unknown> = {
  domain: "chat.example.com",
  zone: "example.com",
  webHostnames: ["www.example.com"],
  homeTailnetIPv4: "100.101.102.103",
  homeTailnetIPv6: "fd7a:115c:a1e0::6501:6667",
  sshAllowFrom: ["203.0.113.0/24", "2001:db8:1234::/48"],
};

export const FACTS: HostFacts = {
  vpsIPv4: "192.0.2.10",
  vpsIPv6: "2001:db8::10",
  homeIPv4: "100.101.102.103",
  homeIPv6: "fd7a:115c:a1e0::6501:6667",
  vpsTailnetIPv4: "100.64.0.1",
};

export function model(overrides: Record<string, unknown> = {}): EdgeModel {
  return buildModel(validateConfig({ ...BASE, ...overrides }));
}

/** The problems validateConfig reports, or [] when valid. */
export function problems(overrides: Record<string, unknown>, base: Record<string, unknown> = BASE): string[] {
  try {
    validateConfig({ ...base, ...overrides });
    return [];
  } catch (e) {
    return (e as { problems?: string[] }).problems ?? [String(e)];
  }
}
