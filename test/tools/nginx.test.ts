// nginx -t on the rendered nginx.conf, bind-mounted over /etc/nginx/nginx.conf
// in a private mount namespace: exactly the file the VPS will read, where it reads it.
import * as fs from "node:fs";
import * as path from "node:path";
import { BASE } from "../fixtures";
import { requireRoot, sh, VARIANTS, withNetns, writePlan } from "./helpers";

beforeAll(requireRoot);

test.each(Object.entries(VARIANTS))("nginx -t accepts the nginx.conf of: %s", (_name, overrides) => {
  const conf = path.join(writePlan(overrides), "vps/etc/nginx/nginx.conf");
  const r = sh(`unshare -m --propagation private bash -c 'mount --bind ${conf} /etc/nginx/nginx.conf && nginx -t'`);
  expect(r.out).toContain("syntax is ok");
  expect(r.out).toContain("test is successful");
  expect(r.status).toBe(0);
});

test("nginx -t catches a broken file (the check can fail)", () => {
  const conf = path.join(writePlan({}), "vps/etc/nginx/nginx.conf");
  const r = sh(`sed -i 's/ssl_preread on;/ssl_preread maybe;/' ${conf} && nginx -t -c ${conf}`);
  expect(r.status).not.toBe(0);
  expect(r.out).toMatch(/invalid value "maybe"/);
});

// The home web server behind the ACME location must see nothing but a token:
// real nginx in a scratch network namespace, a stand-in home in another one
// on the home address, answering with the port and the request target it got.
test("80: only a token-shaped ACME path reaches the home web server, and only normalised", () => {
  const dir = writePlan({ preset: "prosody" });
  const conf = path.join(dir, "vps/etc/nginx/nginx.conf");
  const home = BASE.homeTailnetIPv4 as string;
  fs.writeFileSync(
    path.join(dir, "home.py"),
    [
      "import http.server, threading",
      "class H(http.server.BaseHTTPRequestHandler):",
      "    def do_GET(self):",
      "        body = ('port %d target %s\\n' % (self.server.server_address[1], self.path)).encode()",
      "        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)",
      "    def log_message(self, *a): pass",
      "for port in (80, 5280):",
      `    s = http.server.ThreadingHTTPServer(('${home}', port), H)`,
      "    threading.Thread(target=s.serve_forever, daemon=True).start()",
      "threading.Event().wait()",
    ].join("\n"),
  );
  const paths = [
    "/.well-known/acme-challenge/LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0",
    "/.well-known/acme-challenge/..;/admin",
    "/.well-known/acme-challenge/..;/x/../../admin",
    "/.well-known/acme-challenge/%2e%2e;/admin",
    "/.well-known/acme-challenge/tok%2Fen",
    "/.well-known/acme-challenge/tok;jsessionid=1",
    "/.well-known/acme-challenge/tok?next=/admin",
  ];
  // Inside the edge's namespace, in a private mount namespace: the rendered file where nginx reads it.
  fs.writeFileSync(
    path.join(dir, "edge.sh"),
    [
      "set -e",
      `mount --bind ${conf} /etc/nginx/nginx.conf`,
      "mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /var/log/nginx",
      "nginx",
      "trap 'kill $(cat /run/nginx.pid)' EXIT",
      `for i in $(seq 50); do curl -s -o /dev/null http://${home}:5280/ && break; sleep 0.1; done`,
      ...paths.map((p) => `echo "$(curl -s --path-as-is -H 'Host: chat.example.com' 'http://127.0.0.1${p}')"`),
    ].join("\n"),
  );
  const answers = withNetns((edge) =>
    withNetns((homeNs) => {
      const up = sh(
        [
          "set -e",
          `ip -n ${edge} link set lo up && ip -n ${homeNs} link set lo up`,
          `ip -n ${edge} link add e0 type veth peer name h0 netns ${homeNs}`,
          `ip -n ${edge} addr add 192.0.2.1/24 dev e0 && ip -n ${edge} link set e0 up && ip -n ${edge} route add ${home}/32 dev e0`,
          `ip -n ${homeNs} addr add ${home}/32 dev h0 && ip -n ${homeNs} link set h0 up && ip -n ${homeNs} route add 192.0.2.0/24 dev h0`,
          `ip netns exec ${homeNs} /usr/bin/python3 ${path.join(dir, "home.py")} >/dev/null 2>&1 &`,
        ].join("\n"),
      );
      expect(up.out).toBe("");
      const r = sh(`ip netns exec ${edge} unshare -m --propagation private bash ${path.join(dir, "edge.sh")}`, 30000);
      expect(`${r.status}\n${r.out}`).toMatch(/^0\n/);
      return r.out.trim().split("\n");
    }),
  );
  expect(answers).toHaveLength(paths.length);
  const toWebServer = answers.filter((a) => a.startsWith("port 80 ")).map((a) => a.replace("port 80 target ", ""));
  // The token arrives as it was sent; "..;/admin" reaches Prosody (5280), never the web server.
  expect(toWebServer[0]).toBe(paths[0]);
  for (const target of toWebServer) expect(target).toMatch(/^\/\.well-known\/acme-challenge\/[A-Za-z0-9_-]+$/);
  expect(answers[1]).toBe("port 5280 target /.well-known/acme-challenge/..;/admin");
});

// nginx's connections to one home port leave from one address, one source
// port each: the edge's range (model/ports.ts EPHEMERAL_PORTS) is narrowed to
// 10 ports here so that IPv4's run out after 10 sessions, as they would after
// 39,151 on a real edge. Real nginx in one namespace, a stand-in home in
// another answering each connection with the family it arrived on.
function sessionsThroughFullPorts(dropBackup: boolean): string[] {
  const dir = writePlan({ clientIp: "nginx" });
  const conf = path.join(dir, "vps/etc/nginx/nginx.conf");
  if (dropBackup) fs.writeFileSync(conf, fs.readFileSync(conf, "utf8").replace(/^\s*server \[[^\]]+\]:\d+ backup;\n/gm, ""));
  const home4 = BASE.homeTailnetIPv4 as string;
  const home6 = BASE.homeTailnetIPv6 as string;
  fs.writeFileSync(
    path.join(dir, "home.py"),
    [
      "import socket, threading",
      "def serve(fam, addr):",
      "    s = socket.socket(fam); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((addr, 5222)); s.listen(64)",
      "    held = []",
      "    while True:",
      "        c, _ = s.accept(); c.sendall(b'v4\\n' if fam == socket.AF_INET else b'v6\\n'); held.append(c)",
      `threading.Thread(target=serve, args=(socket.AF_INET, '${home4}'), daemon=True).start()`,
      `threading.Thread(target=serve, args=(socket.AF_INET6, '${home6}'), daemon=True).start()`,
      "threading.Event().wait()",
    ].join("\n"),
  );
  // 15 sessions held open together: each line is the family home saw, or "none" (nginx closed it).
  fs.writeFileSync(
    path.join(dir, "client.py"),
    [
      "import socket",
      "held, out = [], []",
      "for i in range(15):",
      "    c = socket.create_connection(('192.0.2.1', 5222), timeout=3); held.append(c)",
      "    try: out.append(c.recv(16).decode().strip() or 'none')",
      "    except OSError: out.append('none')",
      "print('\\n'.join(out))",
    ].join("\n"),
  );
  return withNetns((edge) =>
    withNetns((homeNs) => {
      const up = sh(
        [
          "set -e",
          `ip -n ${edge} link set lo up && ip -n ${homeNs} link set lo up`,
          `ip -n ${edge} link add e0 type veth peer name h0 netns ${homeNs}`,
          `ip -n ${edge} addr add 192.0.2.1/24 dev e0 && ip -n ${edge} addr add 2001:db8:e::1/64 dev e0 nodad && ip -n ${edge} link set e0 up`,
          `ip -n ${edge} route add ${home4}/32 dev e0 && ip -n ${edge} route add ${home6}/128 dev e0`,
          `ip -n ${homeNs} addr add ${home4}/32 dev h0 && ip -n ${homeNs} addr add ${home6}/128 dev h0 nodad && ip -n ${homeNs} link set h0 up`,
          `ip -n ${homeNs} route add 192.0.2.0/24 dev h0 && ip -n ${homeNs} route add 2001:db8:e::/64 dev h0`,
          `ip netns exec ${edge} sysctl -q -w net.ipv4.ip_local_port_range="40000 40009"`,
          `ip netns exec ${homeNs} /usr/bin/python3 ${path.join(dir, "home.py")} >/dev/null 2>&1 &`,
        ].join("\n"),
      );
      expect(up.out).toBe("");
      // Home's namespace by a descriptor: the tmpfs over /run hides /run/netns.
      const inHome = "nsenter --net=/proc/$$/fd/9";
      const script = [
        "set -e",
        `exec 9</run/netns/${homeNs}`,
        `mount --bind ${conf} /etc/nginx/nginx.conf`,
        "mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /var/log/nginx",
        "nginx",
        "trap 'kill $(cat /run/nginx.pid)' EXIT",
        // Listening is enough: a probe session would leave one of the 10 ports in TIME_WAIT.
        "for i in $(seq 50); do ss -Hltn 'sport = :5222' | grep -q . && break; sleep 0.1; done",
        `${inHome} /usr/bin/python3 ${path.join(dir, "client.py")}`,
      ].join("\n");
      fs.writeFileSync(path.join(dir, "edge.sh"), script);
      const r = sh(`ip netns exec ${edge} unshare -m --propagation private bash ${path.join(dir, "edge.sh")}`, 60000);
      expect(`${r.status}\n${r.out}`).toMatch(/^0\n/);
      return r.out.trim().split("\n");
    }),
  );
}

test("when IPv4's source ports toward a home port are all held, new sessions go over home's tailnet IPv6 (the backup); without it they fail", () => {
  const count = (lines: string[], what: string) => lines.filter((l) => l === what).length;
  const fixed = sessionsThroughFullPorts(false);
  expect({ v4: count(fixed, "v4"), v6: count(fixed, "v6"), none: count(fixed, "none") }).toEqual({ v4: 10, v6: 5, none: 0 });
  // The check can fail: the same edge without the backup lines loses every session past IPv4's ports.
  const broken = sessionsThroughFullPorts(true);
  expect({ v4: count(broken, "v4"), v6: count(broken, "v6"), none: count(broken, "none") }).toEqual({ v4: 10, v6: 0, none: 5 });
});
