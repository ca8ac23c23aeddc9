// The Hetzner server: its name, type, location and image.
import type { ParsedConfig } from "../config";
import { HETZNER_NAME, HOST_LABEL } from "../shapes";
import { show, type Checks } from "./report";

export function checkServer(p: ParsedConfig, c: Checks): void {
  if (!HOST_LABEL.test(p.serverName)) c.report("serverName", `${show(p.serverName)} is not a valid host name; expected lower-case letters, digits and hyphens`);
  // Hetzner's own lists change (new types and locations); check the shape only, the API names what exists.
  const hetznerName = (key: "serverType" | "location" | "image", example: string) => {
    if (!HETZNER_NAME.test(p[key])) c.report(key, `${show(p[key])} is not a Hetzner ${key === "serverType" ? "server type" : key} name; expected lower-case letters, digits, dots and hyphens, e.g. ${show(example)}`);
  };
  hetznerName("serverType", "cax11");
  hetznerName("location", "fsn1");
  hetznerName("image", "debian-12");
}
