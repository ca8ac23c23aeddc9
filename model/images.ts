// The server images an edge may run: the Debian releases whose tools check
// the rendered files (npm run test:tools, in each release's own root) and
// which test:vm boots. Every file an edge receives is Debian-specific, so an
// image is supported only once both run on it; add a release here together
// with its tools root (scripts/tools/build-release-root.sh) and VM image
// (scripts/vm/build-image.sh).

export interface DebianRelease {
  /** Hetzner's image name. */
  image: string;
  version: number;
  codename: "bookworm" | "trixie";
  /** OpenSSH's major.minor on this release: which sshd algorithms exist. */
  openssh: string;
}

export const DEBIAN_RELEASES: readonly DebianRelease[] = [
  { image: "debian-13", version: 13, codename: "trixie", openssh: "10.0" },
  { image: "debian-12", version: 12, codename: "bookworm", openssh: "9.2" },
];

/** The image a new edge gets: Debian's current stable release. */
export const DEFAULT_IMAGE = "debian-13";

export const SUPPORTED_IMAGES: readonly string[] = DEBIAN_RELEASES.map((r) => r.image);

export function releaseOf(image: string): DebianRelease | undefined {
  return DEBIAN_RELEASES.find((r) => r.image === image);
}

/** "debian-13 (Debian 13 trixie, the default), debian-12 (Debian 12 bookworm)", for errors and docs. */
export function describeSupportedImages(): string {
  return DEBIAN_RELEASES.map((r) => `${r.image} (Debian ${r.version} ${r.codename}${r.image === DEFAULT_IMAGE ? ", the default" : ""})`).join(", ");
}
