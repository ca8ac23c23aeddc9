// TURN over TLS on 443 through the real daemons: the rendered nginx.conf,
// turnserver.conf and nftables ruleset in a scratch "vps" namespace, a
// client whose egress passes only TCP 443 and DNS, and a UDP echo peer.
// The client speaks as Conversations does (SNI the TURN name, no ALPN, the
// certificate unverified): test/lab/turn-probe.py --tls. The certificate is
// the edge's placeholder, made by host/xmpp-edge-turn-cert; a renewal is
// that tool's deploy hook installing another one.
import * as fs from "node:fs";
import * as path from "node:path";
import { buildModel } from "../../model/model";
import { validateConfig } from "../../model/validate";
import { renderCoturnConf } from "../../render/coturn";
import { BASE, FACTS } from "../fixtures";
import { requireRoot, sh, withNetns, writePlan } from "./helpers";

beforeAll(requireRoot);

const NAME = "turn.chat.example.com";
const SECRET = "lab-secret";
const CLIENT = "192.0.2.20";
const PEER = "203.0.113.70";
const PROBE = path.join(__dirname, "..", "lab", "turn-probe.py");
const TOOL = path.join(__dirname, "..", "..", "host", "xmpp-edge-turn-cert");

/** Builds vps, client and peer; starts nginx, coturn (as turnserver) and the ruleset; returns what `fn` returns. */
type Run = (ns: "vps" | "client", cmd: string, t?: number) => { status: number | null; out: string };
function withEdge<T>(fn: (run: Run, dir: string, client: string) => T): T {
  const dir = writePlan({ turnTls: true });
  const model = buildModel(validateConfig({ ...BASE, turnTls: true }));
  fs.writeFileSync(path.join(dir, "turnserver.conf"), renderCoturnConf(model, FACTS, SECRET).replace(/^syslog$/m, `log-file=${dir}/turn.log`));
  fs.writeFileSync(path.join(dir, "peer.py"), [
    "import socket",
    `s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('${PEER}', 7000))`,
    "while True:",
    "    data, src = s.recvfrom(2048); s.sendto(b'echo:' + data, src)",
  ].join("\n"));
  // nginx and coturn read /etc: an overlay, private to the vps's mount namespace, holds the rendered files.
  fs.writeFileSync(path.join(dir, "vps.sh"), [
    "set -e",
    `mkdir -p ${dir}/up ${dir}/work`,
    `mount -t overlay overlay -o lowerdir=/etc,upperdir=${dir}/up,workdir=${dir}/work /etc`,
    `mkdir -p ${dir}/varlib-up ${dir}/varlib-work`,
    `mount -t overlay overlay -o lowerdir=/var/lib,upperdir=${dir}/varlib-up,workdir=${dir}/varlib-work /var/lib`,
    "mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /var/log && mkdir /var/log/nginx",
    `cp ${dir}/vps/etc/nginx/nginx.conf /etc/nginx/nginx.conf`,
    `mkdir -p /etc/xmpp-edge && cp ${dir}/vps/etc/xmpp-edge/turn-tls.conf /etc/xmpp-edge/turn-tls.conf`,
    `bash ${TOOL} placeholder`,
    `nft -f ${dir}/vps/etc/xmpp-edge/xmpp-edge.nft`,
    "nginx",
    `turnserver -c ${dir}/turnserver.conf -o --pidfile /run/turn.pid --proc-user turnserver --proc-group turnserver >/dev/null 2>&1`,
    "for i in $(seq 50); do ss -ltnH | grep -q '127.0.0.1:3478 ' && break; sleep 0.1; done",
    "ss -ltnH | grep -q '127.0.0.1:3478 '",
  ].join("\n"));
  return withNetns((vps) =>
    withNetns((client) =>
      withNetns((peer) => {
        const up = sh([
          "set -e",
          ...[vps, client, peer].map((n) => `ip -n ${n} link set lo up`),
          `ip -n ${vps} link add c0 type veth peer name c1 netns ${client}`,
          `ip -n ${vps} link add p0 type veth peer name p1 netns ${peer}`,
          `ip -n ${vps} addr add ${FACTS.vpsIPv4}/24 dev c0 && ip -n ${vps} -6 addr add ${FACTS.vpsIPv6}/64 dev c0 nodad && ip -n ${vps} link set c0 up`,
          `ip -n ${vps} addr add 203.0.113.1/24 dev p0 && ip -n ${vps} link set p0 up`,
          `ip -n ${client} addr add ${CLIENT}/24 dev c1 && ip -n ${client} link set c1 up`,
          `ip -n ${peer} addr add ${PEER}/24 dev p1 && ip -n ${peer} link set p1 up && ip -n ${peer} route add default via 203.0.113.1`,
          `ip netns exec ${peer} /usr/bin/python3 ${dir}/peer.py >/dev/null 2>&1 &`,
          // The hotel network: TCP 443 and DNS out, nothing else.
          `ip netns exec ${client} nft -f - <<'EOF'
table inet hotel {
  chain output {
    type filter hook output priority filter; policy drop;
    oif "lo" accept
    tcp dport 443 accept
    udp dport 53 accept
    tcp dport 53 accept
  }
}
EOF`,
        ].join("\n"));
        expect(up.out).toBe("");
        const started = sh(`ip netns exec ${vps} unshare -m --propagation private bash ${dir}/vps.sh`, 30000);
        expect(`${started.status}\n${started.out}`).toBe(`0\nxmpp-edge-turn-cert: installed a self-signed placeholder for ${NAME} (until the first ACME certificate)\n`);
        const names = { vps, client };
        return fn((ns, cmd, t) => sh(ns === "vps" ? `nsenter -t ${nginxMaster(vps)} -m -n ${cmd}` : `ip netns exec ${names[ns]} ${cmd}`, t), dir, client);
      }),
    ),
  );
}

/** nginx's master in the vps namespace: its mount namespace is the one with the overlay /etc and the tmpfs /run. */
function nginxMaster(ns: string): string {
  const pid = sh(`ip netns pids ${ns} | xargs -r ps -o pid=,args= -p | awk '/nginx: master/ { print $1 }'`).out.trim();
  expect(pid).toMatch(/^\d+$/);
  return pid;
}

/** The certificate the TURN name is served with, as a client sees it: "subject; serial". */
const served = `bash -c "openssl s_client -connect ${FACTS.vpsIPv4}:443 -servername ${NAME} </dev/null 2>/dev/null | openssl x509 -noout -subject -serial -nameopt oneline,-space_eq | paste -sd ';'"`;

const probe = (args: string) => `/usr/bin/python3 ${PROBE} --server ${FACTS.vpsIPv4} --secret ${SECRET} --udp --send ping --expect echo:ping --timeout 2 ${args}`;

test("a 443-only client: TURN over TLS on 443 allocates and relays to the peer and back; UDP and TCP 3478 do not get out; denied peers stay refused; a guard without its exception breaks it", () => {
  withEdge((run, dir) => {
    const tls = (peer: string, port: number, extra = "") => run("client", probe(`--tls ${NAME} --port 443 --peer ${peer} --peer-port ${port} ${extra}`), 20000);

    const ok = tls(PEER, 7000);
    expect(ok.out).toBe(`got through: UDP relay via ${FACTS.vpsIPv4} over TLS (${NAME} on 443) to ${PEER}:7000: the peer answered: echo:ping\n`);
    expect(ok.status).toBe(0);

    // The hotel passes neither: UDP TURN and TCP 3478.
    const udp = run("client", probe(`--peer ${PEER} --peer-port 7000`));
    expect(udp.status).toBe(1);
    expect(udp.out).toMatch(/^refused: UDP relay via [^ ]+ to .*Operation not permitted/);
    const tcp = run("client", probe(`--stream --peer ${PEER} --peer-port 7000`));
    expect(tcp.status).toBe(1);
    expect(tcp.out).toMatch(/^refused: .*over TCP 3478.*(timed out|Operation not permitted)/);

    // Only the TURN name: an XMPP name without ALPN is XMPP's (home's 5223, absent here), any other name closed.
    for (const name of ["chat.example.com", "other.example.com"]) {
      const r = run("client", probe(`--tls ${name} --port 443 --peer ${PEER} --peer-port 7000`), 20000);
      expect(r.status).not.toBe(0);
    }

    // Denied peers over TLS: loopback, the tailnet, the metadata service, the edge's own services.
    for (const [peer, port] of [["127.0.0.1", 22], ["100.64.0.1", 22], ["169.254.169.254", 80], [FACTS.vpsIPv4, 22], [FACTS.vpsIPv4, 443]] as const) {
      const r = tls(peer, port);
      expect(`${peer}:${port} ${r.out}`).toMatch(/refused: /);
      expect(r.status).toBe(1);
    }

    // The output guard without its exception for the terminator: the allocation fails (the check can fail).
    const broken = path.join(dir, "broken.nft");
    fs.writeFileSync(broken, fs.readFileSync(path.join(dir, "vps/etc/xmpp-edge/xmpp-edge.nft"), "utf8").replace(/^.*coturn answering the local TLS terminator.*\n/m, ""));
    expect(fs.readFileSync(broken, "utf8")).not.toContain("127.0.0.1");
    expect(run("vps", `nft -f ${broken}`).status).toBe(0);
    const cut = tls(PEER, 7000);
    expect(cut.status).not.toBe(0);
    expect(cut.out).toMatch(/no answer from the TURN server|closed the connection/);
    // And back: the rendered ruleset lets it through again.
    expect(run("vps", `nft -f ${dir}/vps/etc/xmpp-edge/xmpp-edge.nft`).status).toBe(0);
    expect(tls(PEER, 7000).status).toBe(0);
  });
});

test("renewal while a relayed stream flows: the deploy hook installs the new certificate and reloads nginx; the serial changes and no datagram is lost", () => {
  withEdge((run, dir, client) => {
    const before = run("client", served).out.trim();
    expect(before).toMatch(new RegExp(`^subject=O=xmpp-edge placeholder, CN=${NAME.replace(/\./g, "\\.")};serial=[0-9A-F]+$`));
    // The renewed lineage, as certbot leaves it: another key and certificate for the name.
    fs.mkdirSync(path.join(dir, "renewed"));
    expect(sh(`openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 90 -subj /O=renewed/CN=${NAME} -addext subjectAltName=DNS:${NAME} -keyout ${dir}/renewed/privkey.pem -out ${dir}/renewed/fullchain.pem`).status).toBe(0);
    // 60 datagrams over 6 s on one allocation; the renewal lands in the middle.
    const flow = probe(`--tls ${NAME} --port 443 --peer ${PEER} --peer-port 7000 --count 60 --interval 0.1`).replace("--send ping --expect echo:ping", "--send p --expect echo:p");
    fs.writeFileSync(path.join(dir, "flow.sh"), `ip netns exec ${client} ${flow} > ${dir}/flow.out 2>&1; echo $? >> ${dir}/flow.out\n`);
    expect(sh(`setsid bash ${dir}/flow.sh >/dev/null 2>&1 < /dev/null & sleep 2; echo started`).out).toBe("started\n");
    const hook = run("vps", `env RENEWED_LINEAGE=${dir}/renewed bash ${TOOL} deploy`);
    expect(hook.out).toMatch(/installed the certificate of .*renewed \(serial=[0-9A-F]+\)/);
    expect(hook.status).toBe(0);
    sh(`for i in $(seq 100); do [ "$(wc -l < ${dir}/flow.out)" -ge 2 ] && break; sleep 0.1; done`);
    expect(fs.readFileSync(path.join(dir, "flow.out"), "utf8")).toMatch(/^got through: .*: the peer answered: echo:p-0 … echo:p-59: 60 of 60\n0\n$/);
    const after = run("client", served).out.trim();
    expect(after).toMatch(new RegExp(`^subject=O=renewed, CN=${NAME.replace(/\./g, "\\.")};serial=`));
    expect(after.split(";")[1]).not.toBe(before.split(";")[1]);

    // A hook that restarted nginx instead would cut the call (the check can fail).
    fs.writeFileSync(path.join(dir, "flow.out"), "");
    expect(sh(`setsid bash ${dir}/flow.sh >/dev/null 2>&1 < /dev/null & sleep 2; echo started`).out).toBe("started\n");
    run("vps", `bash -c 'nginx -s stop; for i in $(seq 50); do [ -e /run/nginx.pid ] || break; sleep 0.1; done; nginx'`);
    sh(`for i in $(seq 100); do [ "$(wc -l < ${dir}/flow.out)" -ge 2 ] && break; sleep 0.1; done`);
    expect(fs.readFileSync(path.join(dir, "flow.out"), "utf8")).toMatch(/^(refused|probe failed): .*\n[12]\n$/);
  });
});

test("the placeholder: made for the name, kept while it is valid, made anew for a new name; a name that is no host name is refused", () => {
  const dir = fs.mkdtempSync("/tmp/xmpp-edge-turn-cert-");
  fs.writeFileSync(path.join(dir, "a.conf"), "NAME=turn.chat.example.com\n");
  fs.writeFileSync(path.join(dir, "b.conf"), "# renamed\nNAME=turns.chat.example.com\n");
  fs.writeFileSync(path.join(dir, "bad.conf"), "NAME=turn.chat.example.com;touch /tmp/x\n");
  fs.writeFileSync(path.join(dir, "unknown.conf"), "NAME=turn.chat.example.com\nHOOK=/bin/sh\n");
  const serial = "openssl x509 -in /etc/xmpp-edge/turn-tls/fullchain.pem -noout -serial -subject -nameopt oneline,-space_eq";
  const r = sh(`unshare -m --propagation private bash -c '
    set -e
    mkdir -p ${dir}/up ${dir}/work
    mount -t overlay overlay -o lowerdir=/etc,upperdir=${dir}/up,workdir=${dir}/work /etc
    bash ${TOOL} placeholder ${dir}/a.conf; ${serial}
    bash ${TOOL} placeholder ${dir}/a.conf; ${serial}
    stat -c "%a %U" /etc/xmpp-edge/turn-tls/privkey.pem
    bash ${TOOL} placeholder ${dir}/b.conf; ${serial}
    bash ${TOOL} placeholder ${dir}/bad.conf 2>&1 || echo "refused $?"
    bash ${TOOL} placeholder ${dir}/unknown.conf 2>&1 || echo "refused $?"'`);
  const lines = r.out.trim().split("\n");
  expect(lines[0]).toBe("xmpp-edge-turn-cert: installed a self-signed placeholder for turn.chat.example.com (until the first ACME certificate)");
  expect(lines[2]).toBe("subject=O=xmpp-edge placeholder, CN=turn.chat.example.com");
  // Kept: the second run made nothing, the serial is the same.
  expect(lines[3]).toBe(lines[1]);
  expect(lines[5]).toBe("600 root");
  expect(lines[6]).toBe("xmpp-edge-turn-cert: installed a self-signed placeholder for turns.chat.example.com (until the first ACME certificate)");
  expect(lines[8]).toBe("subject=O=xmpp-edge placeholder, CN=turns.chat.example.com");
  expect(lines.slice(9)).toEqual([
    `xmpp-edge-turn-cert: ${dir}/bad.conf: NAME is not a host name`,
    "refused 1",
    `xmpp-edge-turn-cert: ${dir}/unknown.conf: unknown key HOOK`,
    "refused 1",
  ]);
  expect(r.status).toBe(0);
});

// The live check (check/turn-tls.ts) from the 443-only client against the real daemons.
test("npm run check's TURN-over-TLS rows: the placeholder fails, a trusted certificate passes; binding, 401 and the relay pass; a wrong name fails every row", () => {
  withEdge((run, dir, client) => {
    const repo = path.join(__dirname, "..", "..");
    const script = (name: string, ca: string | undefined) => {
      const file = path.join(dir, `check-${name}.ts`);
      fs.writeFileSync(file, [
        `import * as tls from "node:tls";`,
        `import * as fs from "node:fs";`,
        `import { expectedFacts } from "${repo}/check/expected";`,
        `import { checkTurnTls } from "${repo}/check/turn-tls";`,
        `import { model } from "${repo}/test/fixtures";`,
        `const exp = expectedFacts(model({ turnTls: true, turnTlsName: "${name}" }), [{ ipv4: "${FACTS.vpsIPv4}", ipv6: "${FACTS.vpsIPv6}" }], { allowDocumentationAddresses: true });`,
        `const ca = ${ca ? `[...tls.rootCertificates, fs.readFileSync("${ca}", "utf8")]` : "undefined"};`,
        `checkTurnTls(exp, { secret: "${SECRET}", ca, timeoutMs: 3000 }).then((r) => { for (const x of r) console.log(x.status, x.name.replace(/ (of turns?\\.|turns?\\.|\\().*$/, ""), "|", x.seen); process.exit(0); });`,
      ].join("\n"));
      return sh(`ip netns exec ${client} ${repo}/node_modules/.bin/tsx ${file}`, 60000).out.trim().split("\n").sort();
    };
    const rows = (name: string, ca?: string) => script(name, ca).map((l) => l.replace(/ \| .*/, ""));

    expect(rows(NAME)).toEqual([
      "fail TURN over TLS: certificate",
      "pass TURN over TLS: Allocate without credentials",
      "pass TURN over TLS: STUN binding",
      "pass TURN over TLS: two allocations relay a datagram",
    ]);
    expect(script(NAME, undefined).find((l) => l.includes("certificate"))).toMatch(/\| O=xmpp-edge placeholder, CN=turn\.chat\.example\.com/);

    // The certificate certbot would install, from a CA this check trusts: every row passes.
    fs.mkdirSync(path.join(dir, "acme"));
    const o = (args: string) => expect(sh(`cd ${dir}/acme && openssl ${args}`).status).toBe(0);
    o(`req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=lab-acme-ca -keyout ca.key -out ca.pem`);
    o(`req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=${NAME} -keyout privkey.pem -out leaf.csr`);
    fs.writeFileSync(path.join(dir, "acme", "ext"), `subjectAltName=DNS:${NAME}\n`);
    o(`x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 60 -extfile ext -out fullchain.pem`);
    expect(run("vps", `env RENEWED_LINEAGE=${dir}/acme bash ${TOOL} deploy`).status).toBe(0);
    sh("sleep 0.5");
    expect(rows(NAME, `${dir}/acme/ca.pem`)).toEqual([
      "pass TURN over TLS: Allocate without credentials",
      "pass TURN over TLS: STUN binding",
      "pass TURN over TLS: certificate",
      "pass TURN over TLS: two allocations relay a datagram",
    ]);

    // A check (or a client) that asks for another name reaches nothing: every row fails.
    expect(rows("turns.chat.example.com", `${dir}/acme/ca.pem`).map((l) => l.split(" ")[0])).toEqual(["fail", "fail", "fail", "fail"]);
  });
});

// ACME for real: pebble (Debian's package) as the CA in the peer's namespace,
// resolving the TURN name to the edge; certbot on the edge through
// xmpp-edge-turn-cert obtain. Home is unreachable here: the challenge can only
// have come from the edge's own webroot.
test("ACME: pebble issues the TURN name's certificate over HTTP-01 from the edge's webroot; nginx serves it, verifiable against pebble's root; a second run asks nothing", () => {
  if (sh("command -v pebble certbot").status !== 0) throw new Error("pebble and certbot are needed: apt-get install pebble certbot");
  withEdge((run, dir, client) => {
    const peerNs = sh(`ip netns identify $(pgrep -f "${dir}/peer.py" | head -1)`).out.trim();
    const acme = path.join(dir, "pebble");
    fs.mkdirSync(acme);
    const o = (args: string) => expect(sh(`cd ${acme} && openssl ${args}`).status).toBe(0);
    // pebble's own HTTPS (the ACME directory) under a CA certbot is told to trust.
    o("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=lab-pebble-ca -keyout ca.key -out ca.pem");
    o("req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=pebble -keyout key.pem -out srv.csr");
    fs.writeFileSync(path.join(acme, "ext"), "subjectAltName=DNS:pebble\n");
    o("x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext -out cert.pem");
    fs.writeFileSync(path.join(acme, "config.json"), JSON.stringify({
      pebble: { listenAddress: `${PEER}:14000`, managementListenAddress: `${PEER}:15000`, certificate: `${acme}/cert.pem`, privateKey: `${acme}/key.pem`, httpPort: 80, tlsPort: 443, ocspResponderURL: "", externalAccountBindingRequired: false },
    }));
    // The lab DNS, as pebble's resolver reads it: the TURN name is the edge.
    fs.writeFileSync(path.join(acme, "hosts"), `127.0.0.1 localhost\n${FACTS.vpsIPv4} ${NAME}\n`);
    sh(`ip netns exec ${peerNs} unshare -m --propagation private bash -c 'mount --bind ${acme}/hosts /etc/hosts && PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 setsid pebble -config ${acme}/config.json > ${acme}/pebble.log 2>&1 < /dev/null &'`);
    expect(sh(`for i in $(seq 50); do ip netns exec ${peerNs} ss -ltnH | grep -q ':14000 ' && exit 0; sleep 0.1; done; exit 1`).status).toBe(0);

    const conf = `NAME=${NAME}\nACME_SERVER=https://pebble:14000/dir\nACME_CA_BUNDLE=${acme}/ca.pem\n`;
    expect(run("vps", `bash -c 'echo "${PEER} pebble" >> /etc/hosts && printf "%s" "${conf}" > /etc/xmpp-edge/turn-tls.conf'`).status).toBe(0);
    const got = run("vps", `bash ${TOOL} obtain`, 120000);
    expect(got.status).toBe(0);
    expect(got.out).toContain("Successfully received certificate.");
    expect(got.out).toMatch(/xmpp-edge-turn-cert: installed the certificate of \/etc\/letsencrypt\/live\/turn\.chat\.example\.com \(serial=[0-9A-F]+\)/);
    // The challenge came to the edge's nginx on 80 and was answered there.
    expect(run("vps", "cat /var/log/nginx/access.log").out).toMatch(/"GET \/\.well-known\/acme-challenge\/[A-Za-z0-9_-]+ HTTP\/1\.1" 200 /);

    // Served on 443 for the name, and the check (trusting pebble's root) passes it.
    sh("sleep 0.5");
    const root = sh(`ip netns exec ${peerNs} curl -s --cacert ${acme}/ca.pem --resolve pebble:15000:${PEER} https://pebble:15000/roots/0`).out;
    expect(root).toContain("BEGIN CERTIFICATE");
    fs.writeFileSync(path.join(acme, "root.pem"), root);
    const seen = sh(`ip netns exec ${client} ${served}`).out.trim();
    const verify = sh(`ip netns exec ${client} bash -c "openssl s_client -connect ${FACTS.vpsIPv4}:443 -servername ${NAME} -verify_hostname ${NAME} -verify_return_error -CAfile ${acme}/root.pem </dev/null 2>&1 | grep -E '^Verify return code'"`);
    expect(verify.out.trim()).toBe("Verify return code: 0 (ok)");
    expect(seen).toMatch(new RegExp(`^subject=CN=${NAME.replace(/\./g, "\\.")};serial=`));
    // A second run with nothing due asks the CA nothing and changes nothing.
    const again = run("vps", `bash ${TOOL} obtain`, 60000);
    expect(again.out).toMatch(/Certificate not yet due for renewal/);
    expect(again.out).not.toContain("installed the certificate");
    expect(sh(`ip netns exec ${client} ${served}`).out.trim()).toBe(seen);
  });
});
