import { validateConfig, ConfigError } from "../../model/validate";
import { releaseOf } from "../../model/images";
import { BASE, DEPLOY_KEY, HOST_KEY, problems } from "../fixtures";

describe("validateConfig accepts", () => {
  test("the base config, with defaults filled in", () => {
    const c = validateConfig(BASE);
    expect(c.xmppHost).toBe("chat.example.com");
    expect(c.preset).toBe("snikket");
    expect(c.directTls).toBe(true);
    expect(c.clientIp).toBe("masquerade");
    expect(c.turn).toBe("edge");
    expect(c.turnRelayPorts).toEqual({ from: 49152, to: 65535 });
    expect(c.webOriginLock).toBe("cloudflare");
    expect(c.server).toEqual({ name: "xmpp-edge", type: "cax11", location: "fsn1", image: "debian-13", release: releaseOf("debian-13") });
    expect(c.ssh).toEqual({ mode: "public", from: ["203.0.113.0/24", "2001:db8:1234::/48"] });
  });

  test("image debian-12, still supported: its release known to the model", () => {
    expect(validateConfig({ ...BASE, image: "debian-12" }).server.release).toEqual({ image: "debian-12", version: 12, codename: "bookworm", openssh: "9.2" });
  });

  test("edges: each edge's image, default the top-level one; the first edge's is the server's", () => {
    const c = validateConfig({ ...BASE, image: "debian-12", edges: [{ name: "old" }, { name: "new", image: "debian-13" }] });
    expect(c.edges.map((e) => [e.name, e.image, e.release.codename])).toEqual([["old", "debian-12", "bookworm"], ["new", "debian-13", "trixie"]]);
    expect(c.server.image).toBe("debian-12");
  });

  test("sshAllowFrom tailnet, a bare address normalised to a host route", () => {
    expect(validateConfig({ ...BASE, sshAllowFrom: ["tailnet"] }).ssh).toEqual({ mode: "tailnet" });
    expect(validateConfig({ ...BASE, sshAllowFrom: ["198.51.100.7"] }).ssh).toEqual({ mode: "public", from: ["198.51.100.7/32"] });
  });

  test("a home looked up by hostname instead of an address", () => {
    const { homeTailnetIPv4: _, ...rest } = BASE;
    expect(validateConfig({ ...rest, homeTailnetHostname: "homeserver" }).home.hostname).toBe("homeserver");
  });

  test("extra forwards: a single port with toPort, a TCP range, UDP next to a TCP port", () => {
    const c = validateConfig({
      ...BASE,
      extraForwards: [
        { port: 8443, protocol: "tcp", toPort: 9443 },
        { port: "6000-6010", protocol: "tcp" },
        { port: 5222, protocol: "udp" },
      ],
    });
    expect(c.extraForwards).toEqual([
      { ports: { from: 8443, to: 8443 }, protocol: "tcp", toPort: 9443, description: undefined },
      { ports: { from: 6000, to: 6010 }, protocol: "tcp", toPort: undefined, description: undefined },
      { ports: { from: 5222, to: 5222 }, protocol: "udp", toPort: undefined, description: undefined },
    ]);
  });

  test("no edges: one edge from today's keys, named the implicit way", () => {
    const c = validateConfig({ ...BASE, serverName: "edge-a", location: "nbg1", serverType: "cx23" });
    expect(c.edges).toEqual([{ name: "edge", serverName: "edge-a", type: "cx23", location: "nbg1", existingHost: undefined, image: "debian-13", release: releaseOf("debian-13"), dnsName: "edge.chat.example.com", drain: false }]);
    expect(c.edgeMode).toBe("failover");
  });

  test("edges: the first keeps serverName, later ones get serverName-name; location and serverType default to the top-level keys", () => {
    const c = validateConfig({ ...BASE, location: "nbg1", edges: [{ name: "fsn", location: "fsn1" }, { name: "hel", location: "hel1", serverType: "cx23" }, { name: "old", existingHost: { address: "5.9.10.11", hostKey: HOST_KEY } }], sshPublicKey: DEPLOY_KEY, sshPrivateKey: { secure: "x" }, edgeMode: "active-active" });
    expect(c.edges.map((e) => [e.name, e.serverName, e.type, e.location, e.dnsName, e.existingHost?.ipv4])).toEqual([
      ["fsn", "xmpp-edge", "cax11", "fsn1", "fsn.chat.example.com", undefined],
      ["hel", "xmpp-edge-hel", "cx23", "hel1", "hel.chat.example.com", undefined],
      ["old", "xmpp-edge-old", "cax11", "nbg1", "old.chat.example.com", "5.9.10.11"],
    ]);
    expect(c.server).toEqual({ name: "xmpp-edge", type: "cax11", location: "fsn1", image: "debian-13", release: releaseOf("debian-13") });
    expect(c.edgeMode).toBe("active-active");
  });

  test("edges[0].existingHost is the first edge's host (as top-level existingHost was)", () => {
    const c = validateConfig({ ...BASE, edges: [{ name: "a", existingHost: { address: "5.9.10.11", hostKey: HOST_KEY, port: 2222 } }], sshPublicKey: DEPLOY_KEY, sshPrivateKey: { secure: "x" } });
    expect(c.existingHost?.port).toBe(2222);
    expect(c.edges[0].existingHost).toBe(c.existingHost);
  });

  test("prosody preset frees 5000", () => {
    expect(problems({ preset: "prosody", extraForwards: [{ port: 5000, protocol: "tcp" }] })).toEqual([]);
    expect(problems({ extraForwards: [{ port: 3479, protocol: "udp" }] })).toEqual([]);
    expect(problems({ extraForwards: [{ port: 3478, protocol: "udp" }] })[0]).toMatch(/overlaps 3478\/udp, the planned stun-turn-udp port/);
  });

  test("turn off frees the TURN ports", () => {
    expect(problems({ turn: "off", extraForwards: [{ port: "50000-50100", protocol: "udp" }, { port: 3478, protocol: "udp" }] })).toEqual([]);
  });
});

describe("validateConfig rejects, naming the key, the bad value and what is valid", () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["a tailnet IPv4 outside 100.64.0.0/10", { homeTailnetIPv4: "192.168.1.10" }, /^xmpp-edge:homeTailnetIPv4: "192\.168\.1\.10" is not a tailnet IPv4 address; expected an address in 100\.64\.0\.0\/10/],
    ["a tailnet IPv6 outside fd7a:115c:a1e0::/48", { homeTailnetIPv6: "fd00::1" }, /^xmpp-edge:homeTailnetIPv6: "fd00::1" is not a tailnet IPv6 address; expected an address in fd7a:115c:a1e0::\/48/],
    ["an IPv6 address as homeTailnetIPv4", { homeTailnetIPv4: "fd7a:115c:a1e0::1" }, /^xmpp-edge:homeTailnetIPv4: "fd7a:115c:a1e0::1" is not a tailnet IPv4 address/],
    ["a web hostname equal to the XMPP host", { webHostnames: ["chat.example.com"] }, /^xmpp-edge:webHostnames\[0\]: "chat\.example\.com" is a DNS-only XMPP name .*cannot be a Cloudflare-proxied web name/],
    ["a web hostname equal to a Snikket CNAME", { webHostnames: ["share.chat.example.com"] }, /^xmpp-edge:webHostnames\[0\]: "share\.chat\.example\.com" is a DNS-only XMPP name/],
    ["a web hostname equal to an explicit xmppHost", { xmppHost: "xmpp.example.com", webHostnames: ["xmpp.example.com"] }, /^xmpp-edge:webHostnames\[0\]: "xmpp\.example\.com" is a DNS-only XMPP name/],
    ["a port above 65535", { extraForwards: [{ port: 70000, protocol: "tcp" }] }, /^xmpp-edge:extraForwards\[0\]\.port: port 70000 in "70000" is outside 1-65535/],
    ["port 0", { extraForwards: [{ port: 0, protocol: "udp" }] }, /^xmpp-edge:extraForwards\[0\]\.port: port 0 in "0" is outside 1-65535/],
    ["a reversed range", { extraForwards: [{ port: "6010-6000", protocol: "tcp" }] }, /^xmpp-edge:extraForwards\[0\]\.port: range "6010-6000" is reversed; write it low-high \(6000-6010\)/],
    ["a port that is not a number", { extraForwards: [{ port: "http", protocol: "tcp" }] }, /^xmpp-edge:extraForwards\[0\]\.port: "http" is not a port or a range/],
    ["two forwards that overlap", { extraForwards: [{ port: "6000-6010", protocol: "tcp" }, { port: 6005, protocol: "tcp" }] }, /^xmpp-edge:extraForwards\[1\]\.port: 6005\/tcp overlaps extraForwards\[0\] \(6000-6010\/tcp\)/],
    ["a forward over a planned port", { extraForwards: [{ port: "5200-5230", protocol: "tcp" }] }, /^xmpp-edge:extraForwards\[0\]\.port: 5200-5230\/tcp overlaps 5222\/tcp, the planned xmpp-c2s port/],
    ["a forward inside the TURN relay range", { extraForwards: [{ port: 50000, protocol: "udp" }] }, /^xmpp-edge:extraForwards\[0\]\.port: 50000\/udp overlaps 49152-65535\/udp, the planned turn-relay port/],
    ["a TURN session cap below 64 kbit/s", { turnSessionKbps: 10 }, /^xmpp-edge:turnSessionKbps: 10 is not a session bandwidth cap; expected whole kbit\/s from 64 to 1000000/],
    ["a fractional TURN session cap", { turnSessionKbps: 100.5 }, /^xmpp-edge:turnSessionKbps: 100\.5 is not a session bandwidth cap/],
    ["a TURN session cap as text", { turnSessionKbps: "fast" }, /^xmpp-edge:turnSessionKbps: expected number, received string; got "fast"/],
    ["a UDP forward budget below 100 packets/s", { udpForwardPacketsPerSecond: 10 }, /^xmpp-edge:udpForwardPacketsPerSecond: 10 is not a packet rate; expected whole packets\/s from 100 to 10000000/],
    ["a fractional UDP forward budget", { udpForwardPacketsPerSecond: 1000.5 }, /^xmpp-edge:udpForwardPacketsPerSecond: 1000\.5 is not a packet rate/],
    ["a TURN capacity of 0", { turnCapacityMbps: 0 }, /^xmpp-edge:turnCapacityMbps: 0 is not a bandwidth; expected whole Mbit\/s from 1 to 100000/],
    ["a TURN capacity below one session's cap", { turnCapacityMbps: 2, turnSessionKbps: 4000 }, /^xmpp-edge:turnCapacityMbps: 2 Mbit\/s is less than one session's cap \(turnSessionKbps 4000 kbit\/s\).*expected at least 4/],
    ["a coturn memory ceiling of 10 MB", { turnMemoryMB: 10 }, /^xmpp-edge:turnMemoryMB: 10 is not a memory ceiling; expected whole MB from 64 to 65536/],
    ["a fractional coturn memory ceiling", { turnMemoryMB: 100.5 }, /^xmpp-edge:turnMemoryMB: 100\.5 is not a memory ceiling/],
    ["a conntrack table below the kernel's default", { conntrackMax: 1000 }, /^xmpp-edge:conntrackMax: 1000 is not a number of conntrack entries; expected a whole number from 65536 to 16777216/],
    ["turnTcpRelay as text", { turnTcpRelay: "yes" }, /^xmpp-edge:turnTcpRelay: expected boolean, received string; got "yes"/],
    ["unattendedUpgrades as text", { unattendedUpgrades: "no" }, /^xmpp-edge:unattendedUpgrades: expected boolean, received string; got "no"/],
    ["every tailnet member as SSH source", { tailscaleSshFrom: ["autogroup:member"] }, /^xmpp-edge:tailscaleSshFrom\[0\]: "autogroup:member" is not allowed; expected a user .*not "\*" or "autogroup:member"/],
    ["the wildcard as SSH source", { tailscaleSshFrom: ["*"] }, /^xmpp-edge:tailscaleSshFrom\[0\]: "\*" is not allowed/],
    ["no SSH source at all", { tailscaleSshFrom: [] }, /^xmpp-edge:tailscaleSshFrom: is empty; expected who may SSH to the edge over the tailnet/],
    ["autogroup:admin with Headscale and tailnet SSH", { sshAllowFrom: ["tailnet"], tailscaleLoginServer: "https://hs.example.com", tailscaleAuthKey: { secure: "x" } }, /^xmpp-edge:tailscaleSshFrom\[0\]: "autogroup:admin": Headscale \(tailscaleLoginServer\) has no autogroup:admin; name the deployers' users/],
    ["SSH port 22 in extraForwards", { extraForwards: [{ port: 22, protocol: "tcp" }] }, /^xmpp-edge:extraForwards\[0\]\.port: 22\/tcp overlaps 22\/tcp, SSH/],
    ["tailscaled's port in extraForwards", { extraForwards: [{ port: 41641, protocol: "udp" }] }, /^xmpp-edge:extraForwards\[0\]\.port: 41641\/udp overlaps 41641\/udp, tailscaled/],
    ["toPort on a range", { extraForwards: [{ port: "6000-6010", protocol: "tcp", toPort: 7000 }] }, /^xmpp-edge:extraForwards\[0\]\.toPort: toPort is only allowed with a single port/],
    ["an unknown protocol", { extraForwards: [{ port: 6000, protocol: "sctp" }] }, /^xmpp-edge:extraForwards\[0\]\.protocol: expected one of "tcp"\|"udp"; got "sctp"/],
    ["an invalid hostname", { domain: "Chat_Example" }, /^xmpp-edge:domain: "Chat_Example" is not a valid hostname; expected a lower-case fully qualified name/],
    ["a URL as xmppHost", { xmppHost: "https://xmpp.example.com" }, /^xmpp-edge:xmppHost: "https:\/\/xmpp\.example\.com" is not a valid hostname/],
    ["an invalid CIDR", { sshAllowFrom: ["203.0.113.0/33"] }, /^xmpp-edge:sshAllowFrom\[0\]: "203\.0\.113\.0\/33" is not a valid CIDR; expected the public address or network you SSH from, e\.g\./],
    ["tailnet mixed with CIDRs", { sshAllowFrom: ["tailnet", "203.0.113.0/24"] }, /^xmpp-edge:sshAllowFrom: .* mixes "tailnet" with CIDRs/],
    ["an empty sshAllowFrom", { sshAllowFrom: [] }, /^xmpp-edge:sshAllowFrom: is empty/],
    ["an unknown preset", { preset: "ejabberd" }, /^xmpp-edge:preset: expected one of "snikket"\|"prosody"; got "ejabberd"/],
    ["a web hostname outside the zone", { webHostnames: ["www.example.org"] }, /^xmpp-edge:webHostnames\[0\]: "www\.example\.org" is outside the zone "example\.com"/],
    ["a domain outside the zone", { domain: "chat.example.net" }, /^xmpp-edge:domain: "chat\.example\.net" is outside the zone "example\.com"/],
    ["a relay range too small", { turnRelayPorts: "50000-50003" }, /^xmpp-edge:turnRelayPorts: "50000-50003" is too small/],
    ["an unknown key (a typo)", { webHostname: ["x.example.com"] }, /^xmpp-edge:webHostname: unknown key; did you mean webHostnames\? valid keys: domain, xmppHost, webHostnames/],
    ["a string where a list is expected", { webHostnames: "www.example.com" }, /^xmpp-edge:webHostnames: expected array, received string; got "www\.example\.com"/],
    ["a login server without an auth key", { tailscaleLoginServer: "https://hs.example.com" }, /^xmpp-edge:tailscaleAuthKey: is required with tailscaleLoginServer/],
    ["a device lookup with Headscale", { homeTailnetIPv4: undefined, homeTailnetHostname: "home", tailscaleLoginServer: "https://hs.example.com", tailscaleAuthKey: { secure: "x" } }, /^xmpp-edge:homeTailnetHostname: looking up a device needs the Tailscale API/],
    ["a public key without its private key", { sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB" }, /^xmpp-edge:sshPrivateKey: sshPublicKey and sshPrivateKey go together/],
    ["no tailnet tag at all", { tailscaleTags: [] }, /^xmpp-edge:tailscaleTags: is empty; expected at least one tag/],
    ["an empty server type", { serverType: "" }, /^xmpp-edge:serverType: "" is not a Hetzner server type name; expected lower-case letters, digits, dots and hyphens, e\.g\. "cax11"/],
    ["a location with a space", { location: "fsn 1" }, /^xmpp-edge:location: "fsn 1" is not a Hetzner location name/],
    ["an image the project does not test", { image: "debian-11" }, /^xmpp-edge:image: "debian-11" is not an image xmpp-edge supports: .*valid \(model\/images\.ts\): debian-13 \(Debian 13 trixie, the default\), debian-12 \(Debian 12 bookworm\)$/m],
    ["another distribution's image", { image: "ubuntu-24.04" }, /^xmpp-edge:image: "ubuntu-24\.04" is not an image xmpp-edge supports/],
    ["an edge's image the project does not test", { edges: [{ name: "a" }, { name: "b", image: "debian-14" }] }, /^xmpp-edge:edges\[1\]\.image: "debian-14" is not an image xmpp-edge supports: .*valid \(model\/images\.ts\): debian-13 \(Debian 13 trixie, the default\), debian-12 \(Debian 12 bookworm\)$/m],
    ["a tag without tag:", { tailscaleTags: ["xmpp-edge"] }, /^xmpp-edge:tailscaleTags\[0\]: "xmpp-edge" is not a tailnet tag; expected "tag:name"/],
    ["an empty edges list", { edges: [] }, /^xmpp-edge:edges: is empty; expected at least one edge like \[\{name: "fsn"\}\], or leave edges out/],
    ["an edge name that is no DNS label", { edges: [{ name: "Fsn_1" }] }, /^xmpp-edge:edges\[0\]\.name: "Fsn_1" is not a DNS label; expected 1-63 lower-case letters/],
    ["two edges with one name", { edges: [{ name: "fsn" }, { name: "fsn" }] }, /^xmpp-edge:edges\[1\]\.name: "fsn" is used by an earlier edge; every edge needs its own name/],
    ["an edge without a name", { edges: [{ location: "hel1" }] }, /^xmpp-edge:edges\[0\]\.name: is required; expected a string: short DNS label/],
    ["an unknown key in an edge", { edges: [{ name: "fsn", locaton: "hel1" }] }, /^xmpp-edge:edges\[0\]\.locaton: unknown key; did you mean location\? valid keys: name, location, serverType, existingHost/],
    ["an edge whose DNS name is a Snikket CNAME", { edges: [{ name: "a" }, { name: "share" }], domain: "chat.example.com" }, /^xmpp-edge:edges\[1\]\.name: "share" makes the edge's DNS name "share\.chat\.example\.com", which is already one of Snikket's CNAMEs; choose another name/],
    ["an edge whose DNS name is a web name", { edges: [{ name: "a" }, { name: "www" }], xmppHost: "example.com", webHostnames: ["www.example.com"], preset: "prosody", domain: "example.com" }, /^xmpp-edge:edges\[1\]\.name: "www" makes the edge's DNS name "www\.example\.com", which is already a web name \(webHostnames\)/],
    ["an edge whose server name grows past 63", { serverName: "x".repeat(60), edges: [{ name: "a" }, { name: "hel" }] }, /^xmpp-edge:edges\[1\]\.name: "hel" makes the server name "x{60}-hel" \(serverName-name\), longer than a host label's 63 characters/],
    ["an edge location with a space", { edges: [{ name: "a", location: "hel 1" }] }, /^xmpp-edge:edges\[0\]\.location: "hel 1" is not a Hetzner location name/],
    ["an edge server type in capitals", { edges: [{ name: "a", serverType: "CAX11" }] }, /^xmpp-edge:edges\[0\]\.serverType: "CAX11" is not a Hetzner server type name/],
    ["an unknown edgeMode", { edgeMode: "round-robin" }, /^xmpp-edge:edgeMode: expected one of "failover"\|"active-active"; got "round-robin"/],
    ["top-level existingHost together with edges", { edges: [{ name: "a" }], existingHost: { address: "5.9.10.11", hostKey: HOST_KEY }, sshPublicKey: DEPLOY_KEY, sshPrivateKey: { secure: "x" } }, /^xmpp-edge:existingHost: is set together with edges; with edges, each edge's host is its own: move it into edges\[0\]\.existingHost/],
    ["an edge's existing host without a host key", { edges: [{ name: "a" }, { name: "b", existingHost: { address: "5.9.10.12" } }], sshPublicKey: DEPLOY_KEY, sshPrivateKey: { secure: "x" } }, /^xmpp-edge:edges\[1\]\.existingHost\.hostKey: is required: every connection pins the host's key/],
    ["an edge's existing host without the deploy key", { edges: [{ name: "a" }, { name: "b", existingHost: { address: "5.9.10.12", hostKey: HOST_KEY } }] }, /^xmpp-edge:sshPrivateKey: is required with edges\[1\]\.existingHost: a generated key is not authorized/],
    ["a later edge's SSH port on a forwarded port", { extraForwards: [{ port: "2200-2300", protocol: "tcp" }], edges: [{ name: "a" }, { name: "b", existingHost: { address: "5.9.10.12", hostKey: HOST_KEY, port: 2222 } }], sshPublicKey: DEPLOY_KEY, sshPrivateKey: { secure: "x" } }, /^xmpp-edge:edges\[1\]\.existingHost\.port: 2222\/tcp overlaps 2200-2300\/tcp, extraForwards\[0\]; the edge's SSH needs a port of its own/],
    ["a later edge's SSH port on a served port", { edges: [{ name: "a" }, { name: "b", existingHost: { address: "5.9.10.12", hostKey: HOST_KEY, port: 5222 } }], sshPublicKey: DEPLOY_KEY, sshPrivateKey: { secure: "x" } }, /^xmpp-edge:edges\[1\]\.existingHost\.port: 5222\/tcp overlaps 5222\/tcp, the planned xmpp-c2s port .*the edge's SSH needs a port of its own/],
  ];
  test.each(cases)("%s", (_name, overrides, message) => {
    const found = problems(overrides);
    expect(found.some((p) => message.test(p))).toBe(true);
  });

  test("a missing home address and a missing domain", () => {
    const { domain: _d, homeTailnetIPv4: _h, ...rest } = BASE;
    expect(problems({}, rest)).toEqual([
      "xmpp-edge:domain: is required; expected a string: XMPP domain (JIDs are user@domain; the Snikket domain)",
      expect.stringMatching(/^xmpp-edge:homeTailnetIPv4: is required unless homeTailnetHostname is set/),
    ]);
    expect(problems({ sshAllowFrom: undefined })).toEqual([expect.stringMatching(/^xmpp-edge:sshAllowFrom: is required; expected a list: CIDRs allowed to reach SSH on the public address, or \["tailnet"\]/)]);
    expect(problems({}, { ...rest, domain: "chat.example.com" })).toEqual([expect.stringMatching(/^xmpp-edge:homeTailnetIPv4: is required unless homeTailnetHostname is set/)]);
  });

  test("every problem at once, in one error", () => {
    let err: unknown;
    try {
      validateConfig({
        ...BASE,
        homeTailnetIPv4: "10.0.0.1",
        webHostnames: ["chat.example.com", "www.example.org"],
        sshAllowFrom: ["nonsense"],
        extraForwards: [{ port: 22, protocol: "tcp" }, { port: "9-1", protocol: "udp" }],
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const p = (err as ConfigError).problems;
    expect(p).toHaveLength(6);
    expect((err as ConfigError).message).toMatch(/^invalid xmpp-edge configuration \(6 problems\):\n  - /);
  });
});

test("a conflict names the forward by its place in the user's list, after an invalid entry", () => {
  const found = problems({ extraForwards: [{ port: "9-1", protocol: "udp" }, { port: 5222, protocol: "tcp" }, { port: "6000-6010", protocol: "tcp" }, { port: 6005, protocol: "tcp" }] });
  expect(found).toEqual([
    expect.stringMatching(/^xmpp-edge:extraForwards\[0\]\.port: range "9-1" is reversed/),
    expect.stringMatching(/^xmpp-edge:extraForwards\[1\]\.port: 5222\/tcp overlaps 5222\/tcp, the planned xmpp-c2s port/),
    expect.stringMatching(/^xmpp-edge:extraForwards\[3\]\.port: 6005\/tcp overlaps extraForwards\[2\] \(6000-6010\/tcp\)/),
  ]);
});

test("an ill-typed list entry does not hide its neighbours' problems, which keep their own index", () => {
  const found = problems({
    extraForwards: [{ port: 7000, protocol: "sctp" }, { port: 8080, protocol: "tcp", toPort: 70000 }, { port: 5222, protocol: "tcp" }],
    webHostnames: [42, "www.example.org"],
  });
  expect(found).toEqual([
    expect.stringMatching(/^xmpp-edge:webHostnames\[0\]: expected string, received number; got 42/),
    expect.stringMatching(/^xmpp-edge:extraForwards\[0\]\.protocol: expected one of "tcp"\|"udp"; got "sctp"/),
    expect.stringMatching(/^xmpp-edge:webHostnames\[1\]: "www\.example\.org" is outside the zone "example\.com"/),
    expect.stringMatching(/^xmpp-edge:extraForwards\[1\]\.toPort: 70000 is outside 1-65535/),
    expect.stringMatching(/^xmpp-edge:extraForwards\[2\]\.port: 5222\/tcp overlaps 5222\/tcp, the planned xmpp-c2s port/),
  ]);
});

test("an existing host with an empty address and a port out of range: what is expected, in words", () => {
  expect(problems({ existingHost: { address: "", port: 99999, hostKey: "ssh-ed25519 AAAA" } })).toEqual([
    'xmpp-edge:existingHost.address: is empty; expected an address or a host name to SSH to; got ""',
    "xmpp-edge:existingHost.port: expected a port in 1-65535; got 99999",
  ]);
});

test("an invalid hostname is reported once, not again as outside the zone", () => {
  expect(problems({ webHostnames: ["bad_host!"] })).toEqual([expect.stringMatching(/^xmpp-edge:webHostnames\[0\]: "bad_host!" is not a valid hostname/)]);
});

test("type errors and value errors are reported together", () => {
  const found = problems({ preset: "ejabberd", directTls: "yes", sshAllowFrom: ["nonsense"], homeTailnetIPv4: "10.0.0.1" });
  expect(found).toEqual([
    expect.stringMatching(/^xmpp-edge:preset: expected one of/),
    expect.stringMatching(/^xmpp-edge:directTls: expected boolean, received string; got "yes"/),
    expect.stringMatching(/^xmpp-edge:homeTailnetIPv4: "10\.0\.0\.1" is not a tailnet IPv4 address/),
    expect.stringMatching(/^xmpp-edge:sshAllowFrom\[0\]: "nonsense" is not a valid CIDR/),
  ]);
});

test("a broken required key does not hide the others, nor report its stand-in", () => {
  const found = problems({ domain: 42, homeTailnetIPv4: "1.2.3.4" });
  expect(found).toEqual([
    expect.stringMatching(/^xmpp-edge:domain: expected string, received number; got 42/),
    expect.stringMatching(/^xmpp-edge:homeTailnetIPv4: "1\.2\.3\.4" is not a tailnet IPv4 address/),
  ]);
});
