import * as YAML from "yaml";
import { renderCloudInit, renderJoinScript, AUTHKEY_PATH, JOIN_SCRIPT_PATH } from "../../render/cloud-init";
import { model } from "../fixtures";

const SECRETS = {
  hostKey: { privateKeyOpenssh: "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n", publicKeyOpenssh: "ssh-ed25519 AAAAC3Nza host" },
  tailscaleAuthKey: "tskey-auth-xyz",
};

test("packages, SSH hardening, the pinned host key and the tailnet join", () => {
  const text = renderCloudInit(model(), SECRETS);
  expect(text.startsWith("#cloud-config\n")).toBe(true);
  const doc = YAML.parse(text);
  expect(doc.packages).toEqual(expect.arrayContaining(["nginx", "libnginx-mod-stream", "nftables", "coturn", "unattended-upgrades"]));
  // Passwords are off in the drop-in; ssh_pwauth would make cloud-init restart a running sshd.
  expect(doc).not.toHaveProperty("ssh_pwauth");
  expect(doc.ssh_deletekeys).toBe(true);
  expect(doc.ssh_keys).toEqual({ ed25519_private: SECRETS.hostKey.privateKeyOpenssh, ed25519_public: SECRETS.hostKey.publicKeyOpenssh });
  const files = Object.fromEntries(doc.write_files.map((f: { path: string }) => [f.path, f]));
  expect(files[AUTHKEY_PATH]).toEqual({ path: AUTHKEY_PATH, permissions: "0600", content: "tskey-auth-xyz" });
  expect(files["/etc/ssh/sshd_config.d/10-xmpp-edge.conf"].content).toMatch(/PasswordAuthentication no[\s\S]*PermitRootLogin prohibit-password[\s\S]*DisableForwarding yes[\s\S]*MaxAuthTries 3[\s\S]*LogLevel VERBOSE[\s\S]*KexAlgorithms mlkem768x25519-sha256,sntrup761x25519-sha512,/);
  expect(files[JOIN_SCRIPT_PATH].content).toBe(renderJoinScript(model()));
  // Nothing restarts or reloads sshd once it runs (its port would refuse the deploy's dial).
  expect(doc.runcmd).toEqual([[JOIN_SCRIPT_PATH]]);
});

test("Debian 12's user-data is the one its edges were deployed with (a changed user_data replaces the server): ssh_pwauth and the sshd reload stay there", () => {
  const doc = YAML.parse(renderCloudInit(model({ image: "debian-12" }), SECRETS));
  expect(doc.ssh_pwauth).toBe(false);
  expect(doc.runcmd).toEqual([["systemctl", "reload", "ssh"], [JOIN_SCRIPT_PATH]]);
  // Key order as deployed: ssh_pwauth right after packages.
  expect(Object.keys(doc).slice(0, 4)).toEqual(["package_update", "packages", "ssh_pwauth", "disable_root"]);
});

test("the sshd key exchange is the image's release's: ML-KEM on Debian 13 (OpenSSH 10), none on Debian 12 (OpenSSH 9.2 refuses the name)", () => {
  const kex = (image: string) => YAML.parse(renderCloudInit(model({ image }), SECRETS)).write_files.find((f: { path: string }) => f.path.startsWith("/etc/ssh/")).content.match(/^KexAlgorithms (.*)$/m)[1];
  expect(kex("debian-13")).toBe("mlkem768x25519-sha256,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org");
  expect(kex("debian-12")).toBe("sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org");
});

test("the join uses the auth key file once and Headscale's login server when set", () => {
  const ts = renderJoinScript(model());
  expect(ts).toContain(`tailscale up --auth-key=file:${AUTHKEY_PATH} --hostname=xmpp-edge --accept-dns=false\n`);
  expect(ts).toContain(`rm -f ${AUTHKEY_PATH}`);
  const hs = renderJoinScript(model({ tailscaleLoginServer: "https://hs.example.com", tailscaleAuthKey: { secure: "x" } }));
  expect(hs).toContain("--login-server=https://hs.example.com");
});

test("stable: forwards, records and ports do not change the user-data (a change would replace the server)", () => {
  const a = renderCloudInit(model(), SECRETS);
  const b = renderCloudInit(model({ extraForwards: [{ port: 6000, protocol: "udp" }], webHostnames: ["x.example.com"], clientIp: "proxy-protocol", turn: "off", directTls: false }), SECRETS);
  expect(b).toBe(a);
});

test("the plan shows where secrets go without any secret", () => {
  const text = renderCloudInit(model(), undefined);
  expect(text).toContain("(set at deploy: secret single-use tailnet auth key)");
  expect(text).not.toContain("tskey");
});
