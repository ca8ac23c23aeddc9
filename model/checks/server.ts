// The Hetzner server: its name, type, location and image. Types and
// locations are checked against the lists in model/hetzner.ts (refresh them
// there when Hetzner adds one); the image against the Debian releases the
// project tests (model/images.ts), whatever Hetzner offers besides.
import type { ParsedConfig } from "../config";
import { DEFAULT_IMAGE, describeSupportedImages, releaseOf, type DebianRelease } from "../images";
import { HETZNER_LISTS_AS_OF, HETZNER_LOCATIONS, HETZNER_SERVER_TYPES, RETIRED_SERVER_TYPES } from "../hetzner";
import { nearest } from "../nearest";
import { HETZNER_NAME, HOST_LABEL } from "../shapes";
import { quoteRedacted, type Checks } from "./report";

/** Checks the server's names; returns the image's Debian release (the default's when the image was refused: the config is then refused too). */
export function checkServer(p: ParsedConfig, c: Checks): DebianRelease {
  if (!HOST_LABEL.test(p.serverName)) c.report("serverName", `${quoteRedacted(p.serverName)} is not a valid host name; expected lower-case letters, digits and hyphens`);
  const hetznerName = (key: "serverType" | "location" | "image", example: string): boolean => {
    if (HETZNER_NAME.test(p[key])) return true;
    c.report(key, `${quoteRedacted(p[key])} is not a Hetzner ${key === "serverType" ? "server type" : key} name; expected lower-case letters, digits, dots and hyphens, e.g. ${quoteRedacted(example)}`);
    return false;
  };
  if (hetznerName("serverType", "cax11")) checkServerType("serverType", p.serverType, c);
  if (hetznerName("location", "fsn1")) checkLocation("location", p.location, c);
  const release = hetznerName("image", DEFAULT_IMAGE) ? checkImage("image", p.image, c) : undefined;
  // An edge's own values: their shape is checkEdges' to judge, the lists are judged here.
  p.edges?.forEach((e, i) => {
    if (e.serverType !== undefined && HETZNER_NAME.test(e.serverType)) checkServerType(`edges[${i}].serverType`, e.serverType, c);
    if (e.location !== undefined && HETZNER_NAME.test(e.location)) checkLocation(`edges[${i}].location`, e.location, c);
    if (e.image !== undefined) checkImage(`edges[${i}].image`, e.image, c);
  });
  return release ?? (releaseOf(DEFAULT_IMAGE) as DebianRelease);
}

function checkImage(key: string, value: string, c: Checks): DebianRelease | undefined {
  const release = releaseOf(value);
  if (release) return release;
  c.report(key, `${quoteRedacted(value)} is not an image xmpp-edge supports: the files an edge receives are checked and booted on these Debian releases only; valid (model/images.ts): ${describeSupportedImages()}`);
  return undefined;
}

function checkServerType(key: string, value: string, c: Checks): void {
  if (HETZNER_SERVER_TYPES.includes(value)) return;
  const successor = RETIRED_SERVER_TYPES[value];
  if (successor !== undefined) {
    c.report(key, `${quoteRedacted(value)} is retired: Hetzner creates no new servers of it; its successor is ${quoteRedacted(successor)}`);
    return;
  }
  const near = nearest(value, HETZNER_SERVER_TYPES);
  c.report(key, `${quoteRedacted(value)} is not a Hetzner server type; ${near ? `did you mean ${quoteRedacted(near)}? ` : ""}valid (Hetzner's list as of ${HETZNER_LISTS_AS_OF}, model/hetzner.ts): ${HETZNER_SERVER_TYPES.join(", ")}`);
}

function checkLocation(key: string, value: string, c: Checks): void {
  const names = Object.keys(HETZNER_LOCATIONS);
  if (names.includes(value)) return;
  const near = nearest(value, names);
  c.report(key, `${quoteRedacted(value)} is not a Hetzner location; ${near ? `did you mean ${quoteRedacted(near)}? ` : ""}valid (Hetzner's list as of ${HETZNER_LISTS_AS_OF}, model/hetzner.ts): ${names.map((n) => `${n} (${HETZNER_LOCATIONS[n]})`).join(", ")}`);
}
